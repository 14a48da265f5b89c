"""Background exports in the admin: a long list asks first and then becomes a job, "Your exports"
shows each person their own with progress and why one failed, and only the owner (or a
superuser) downloads the file."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from notifications.exports import jobs
from notifications.models import ExportJob
from notifications.sending import wake
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db

EXPORTS = reverse("admin:notifications_exportjob_changelist")


@pytest.fixture(autouse=True)
def small_threshold(settings, tmp_path):
    settings.EXPORT_BACKGROUND_ROWS = 3
    settings.EXPORTS_DIR = tmp_path / "exports"


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(wake, "async_task", lambda func, *args, **kwargs: sent.append(args))
    return sent


def staff_user(django_user_model, name):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_recipient"))
    return user


@pytest.fixture
def people():
    for i in range(4):
        make_recipient(external_id=f"kazan-{i}", last_name="Kazan")
    make_recipient(external_id="perm-1", last_name="Perm")


def export_url(file_format, query="?q=Kazan"):
    return reverse("admin:notifications_recipient_export", args=[file_format]) + query


def job_for(user, **fields):
    values = {
        "list_model": "notifications.recipient",
        "query_string": "q=Kazan",
        "file_format": "csv",
        "time_zone": "UTC",
        "file_name": "recipients-2026-12-06.csv",
        "rows_total": 4,
        **fields,
    }
    return ExportJob.objects.create(requested_by=user, **values)


def test_a_list_longer_than_the_setting_asks_before_exporting_in_the_background(
    client, django_user_model, people, queued
):
    client.force_login(staff_user(django_user_model, "ann"))
    page = client.get(export_url("xlsx"))
    assert page.status_code == 200
    assert "This list has 4 rows" in page.content.decode()
    assert not ExportJob.objects.exists()


def test_confirming_makes_a_job_of_the_filtered_list_and_opens_your_exports(
    client, django_user_model, people, queued, django_capture_on_commit_callbacks
):
    ann = staff_user(django_user_model, "ann")
    client.force_login(ann)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(export_url("xlsx"))
    assert response.status_code == 302
    assert response["Location"] == EXPORTS
    job = ExportJob.objects.get()
    assert (job.requested_by, job.query_string, job.file_format, job.rows_total) == (
        ann,
        "q=Kazan",
        "xlsx",
        4,
    )
    assert queued == [(job.pk,)]
    page = client.get(EXPORTS).content.decode()
    assert "being written in the background" in page
    assert "Waiting for a worker: 4 rows to write" in page


def test_a_list_within_the_setting_still_downloads_at_once(admin_client, people):
    response = admin_client.get(export_url("csv", "?q=perm"))
    assert response.streaming
    assert not ExportJob.objects.exists()


def test_your_exports_shows_progress_with_the_time_left_and_reloads_while_writing(
    client, django_user_model
):
    ann = staff_user(django_user_model, "ann")
    now = timezone.now()
    job_for(
        ann,
        status=ExportJob.Status.RUNNING,
        rows_total=300_000,
        rows_written=100_000,
        started_at=now - timedelta(minutes=1),
        progress_at=now,
    )
    client.force_login(ann)
    page = client.get(EXPORTS).content.decode()
    assert "Writing: 100,000 of 300,000 rows · ≈ 2 min left" in page
    assert '<meta http-equiv="refresh"' in page


def test_your_exports_shows_only_ones_own_and_stops_reloading_when_all_are_finished(
    client, django_user_model
):
    ann, bob = staff_user(django_user_model, "ann"), staff_user(django_user_model, "bob")
    job_for(ann, file_name="anns.csv", status=ExportJob.Status.DONE, rows_written=4)
    job_for(bob, file_name="bobs.csv")
    client.force_login(ann)
    page = client.get(EXPORTS).content.decode()
    assert "anns.csv" in page
    assert "bobs.csv" not in page
    assert "Ready: 4 rows" in page
    assert "Download" in page
    assert "http-equiv" not in page


def test_a_failed_export_says_why(client, django_user_model):
    ann = staff_user(django_user_model, "ann")
    long_ago = timezone.now() - timedelta(hours=1)
    job_for(ann, status=ExportJob.Status.RUNNING, started_at=long_ago, progress_at=long_ago)
    client.force_login(ann)
    page = client.get(EXPORTS).content.decode()
    assert "Failed: The worker stopped while writing this export; run it again." in page


def test_why_an_export_failed_reads_in_the_russian_readers_language(client, django_user_model):
    ann = staff_user(django_user_model, "ann")
    job_for(ann, status=ExportJob.Status.FAILED, error=jobs.STALE_RUNNING)
    client.force_login(ann)
    with translation.override("en"):
        page = client.get(EXPORTS, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Ошибка: Обработчик остановился, не дописав выгрузку; запустите её снова." in page


def test_only_the_owner_or_a_superuser_downloads_the_file(
    client, admin_client, django_user_model, people
):
    ann, bob = staff_user(django_user_model, "ann"), staff_user(django_user_model, "bob")
    job = job_for(ann)
    jobs.export_job_run(job.pk)
    url = reverse("admin:notifications_exportjob_download", args=[job.pk])

    client.force_login(ann)
    response = client.get(url)
    assert response["Content-Disposition"].endswith('filename="recipients-2026-12-06.csv"')
    assert b"".join(response.streaming_content).decode("utf-8-sig").count("kazan-") == 4
    assert admin_client.get(url).status_code == 200
    client.force_login(bob)
    assert client.get(url).status_code == 403


def test_a_file_not_ready_is_not_found(client, django_user_model):
    ann = staff_user(django_user_model, "ann")
    job = job_for(ann)
    client.force_login(ann)
    url = reverse("admin:notifications_exportjob_download", args=[job.pk])
    assert client.get(url).status_code == 404


def test_nobody_adds_changes_or_deletes_an_export_here(admin_client, django_user_model):
    job = job_for(staff_user(django_user_model, "ann"))
    assert admin_client.get(reverse("admin:notifications_exportjob_add")).status_code == 403
    delete = reverse("admin:notifications_exportjob_delete", args=[job.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ExportJob.objects.filter(pk=job.pk).exists()


def test_a_superuser_sees_everyones_exports_with_whose_they_are(admin_client, django_user_model):
    job_for(staff_user(django_user_model, "bob"), file_name="bobs.csv")
    page = admin_client.get(EXPORTS).content.decode()
    assert "bobs.csv" in page
    assert 'field-requested_by nowrap">bob<' in page
