"""Exports written by a worker: the job writes exactly the list's rows through the same writers,
marks its progress, re-checks who asked, runs once, gives way when failed as stale, and its file
goes after the keeping time."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation
from django_q.exceptions import TimeoutException
from openpyxl import load_workbook

from notifications.exports import jobs
from notifications.models import Delivery, DeliveryEvent, ExportJob
from notifications.reasons import reason_encode, reason_text
from notifications.sending import wake
from notifications.sending.tasks import tick
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def exports_dir(settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"
    return settings.EXPORTS_DIR


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_recipient"))
    return user


@pytest.fixture
def people():
    for i in range(5):
        make_recipient(external_id=f"kazan-{i}", last_name="Kazan")
    make_recipient(external_id="perm-1", last_name="Perm")


def new_job(
    user,
    file_format="csv",
    query_string="q=Kazan",
    rows_total=5,
    list_model="notifications.recipient",
):
    return ExportJob.objects.create(
        requested_by=user,
        list_model=list_model,
        query_string=query_string,
        file_format=file_format,
        time_zone="Europe/Moscow",
        file_name=f"recipients-2026-12-06.{file_format}",
        rows_total=rows_total,
    )


def test_creating_a_job_enqueues_its_run_with_the_exports_time_limit(
    viewer, settings, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(wake, "async_task", lambda *args, **kwargs: sent.append((args, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.export_job_create(
            user=viewer,
            list_model="notifications.recipient",
            query_string="q=Kazan",
            file_format="xlsx",
            file_name="recipients.xlsx",
            rows_total=5,
            time_zone="UTC",
        )
    assert job.status == ExportJob.Status.QUEUED
    assert sent == [((jobs.export_job_run, job.pk), {"timeout": settings.EXPORT_TIMEOUT_SECONDS})]


def test_a_job_writes_exactly_the_searched_lists_rows_as_csv(viewer, people):
    job = new_job(viewer)
    assert jobs.export_job_run(job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.rows_written) == (ExportJob.Status.DONE, 5)
    assert job.finished_at is not None
    text = jobs.export_path(job).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Recipient"
    assert sorted(row[0] for row in rows[1:]) == [f"kazan-{i}" for i in range(5)]


def test_a_job_writes_an_excel_workbook_with_the_same_rows(viewer, people):
    job = new_job(viewer, "xlsx")
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    sheet = load_workbook(jobs.export_path(job)).active
    assert sheet.title == "Recipients"
    assert sorted(row[0].value for row in sheet.iter_rows(min_row=2)) == [
        f"kazan-{i}" for i in range(5)
    ]


def test_a_job_marks_its_progress_every_so_many_rows(viewer, people, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_ROWS", 2)
    marks = []
    mark = jobs._mark_progress

    def recorded(job_id, rows):
        mark(job_id, rows)
        marks.append(ExportJob.objects.get(pk=job_id).rows_written)

    monkeypatch.setattr(jobs, "_mark_progress", recorded)
    jobs.export_job_run(new_job(viewer).pk)
    assert marks == [2, 4, 5]


def test_a_job_fails_when_its_owner_may_no_longer_view_the_list(viewer, people, exports_dir):
    job = new_job(viewer)
    viewer.user_permissions.clear()
    assert jobs.export_job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.status, job.error) == (ExportJob.Status.FAILED, jobs.NO_LONGER_ALLOWED)
    assert list(exports_dir.iterdir()) == []


def test_a_job_with_a_filter_the_list_no_longer_knows_fails_saying_so(viewer, people):
    job = new_job(viewer, query_string="no_such_field__exact=1")
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error == "The list's filters are no longer valid."


def test_a_job_runs_once_when_its_task_arrives_twice(viewer, people):
    job = new_job(viewer)
    assert jobs.export_job_run(job.pk) == "done"
    assert jobs.export_job_run(job.pk) == "not queued"


def test_a_worker_whose_job_was_given_up_stops_and_leaves_no_file(
    viewer, people, monkeypatch, exports_dir
):
    monkeypatch.setattr(jobs, "PROGRESS_ROWS", 2)
    mark = jobs._mark_progress

    def failed_meanwhile(job_id, rows):
        ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.FAILED)
        mark(job_id, rows)

    monkeypatch.setattr(jobs, "_mark_progress", failed_meanwhile)
    job = new_job(viewer)
    assert jobs.export_job_run(job.pk) == "given up"
    assert list(exports_dir.iterdir()) == []


def test_jobs_without_progress_for_the_stale_minutes_fail_saying_why(viewer, settings):
    now = timezone.now()
    long_ago = now - timedelta(minutes=settings.EXPORT_STALE_MINUTES + 1)
    dead = new_job(viewer)
    alive = new_job(viewer)
    never_taken = new_job(viewer)
    ExportJob.objects.filter(pk__in=[dead.pk, alive.pk]).update(
        status=ExportJob.Status.RUNNING, started_at=long_ago, progress_at=long_ago
    )
    ExportJob.objects.filter(pk=alive.pk).update(progress_at=now - timedelta(minutes=1))
    ExportJob.objects.filter(pk=never_taken.pk).update(created_at=long_ago)

    assert jobs.export_jobs_mark_stale(now=now) == 2
    statuses = {j.pk: (j.status, j.error) for j in ExportJob.objects.all()}
    assert statuses[dead.pk] == (ExportJob.Status.FAILED, jobs.STALE_RUNNING)
    assert statuses[never_taken.pk] == (ExportJob.Status.FAILED, jobs.STALE_QUEUED)
    assert statuses[alive.pk] == (ExportJob.Status.RUNNING, "")


def test_the_tick_purges_files_past_the_keeping_time_and_keeps_recent_ones(
    viewer, people, settings
):
    old, recent = new_job(viewer), new_job(viewer)
    for job in (old, recent):
        jobs.export_job_run(job.pk)
    old.refresh_from_db()
    old_file = jobs.export_path(old)
    ExportJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - timedelta(hours=settings.EXPORT_KEEP_HOURS, minutes=1)
    )

    assert tick()["exports"] == {"stale": 0, "purged": 1}
    assert not old_file.exists()
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [recent.pk]
    recent.refresh_from_db()
    assert jobs.export_path(recent).is_file()


def test_the_time_left_follows_the_pace_measured_so_far(viewer):
    job = new_job(viewer, rows_total=3_000)
    now = timezone.now()
    job.status = ExportJob.Status.RUNNING
    job.started_at, job.progress_at = now - timedelta(seconds=10), now
    job.rows_written = 1_000
    assert jobs.export_job_time_left(job) == pytest.approx(20)


@pytest.mark.parametrize(
    ("list_model", "query_string"),
    [
        ("notifications.delivery", "status__exact=sent&q=kazan-1"),
        ("notifications.deliveryevent", "type__exact=sent"),
    ],
)
def test_a_job_writes_as_many_rows_as_each_exported_list_counts(
    admin_client, admin_user, list_model, query_string
):
    people = [make_recipient(external_id=f"kazan-{i}") for i in range(2)]
    campaign = make_campaign(make_audience(*people))
    for person in people:
        delivery = Delivery.objects.create(campaign=campaign, recipient=person, status="sent")
        DeliveryEvent.objects.create(
            type="sent", campaign=campaign, delivery=delivery, recipient=person
        )
    make_recipient(external_id="perm-1")
    page = reverse(f"admin:{list_model.replace('.', '_')}_changelist") + f"?{query_string}"
    listed = admin_client.get(page).context["cl"].result_count
    job = new_job(admin_user, list_model=list_model, query_string=query_string)
    assert jobs.export_job_run(job.pk) == "done"
    job.refresh_from_db()
    assert listed > 0
    assert job.rows_written == listed


def test_a_job_stopped_at_its_time_limit_says_so_and_leaves_no_file(
    viewer, people, monkeypatch, exports_dir
):
    def too_slow(*args):
        raise TimeoutException

    monkeypatch.setattr(jobs, "_write", too_slow)
    job = new_job(viewer)
    with pytest.raises(TimeoutException):
        jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert reason_text(job.error).startswith(
        "Writing took longer than the 1,800 s an export may take"
    )
    assert list(exports_dir.iterdir()) == []


def test_a_job_asked_for_in_russian_writes_its_file_in_russian(django_user_model):
    user = django_user_model.objects.create_user("reader", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    recipient = make_recipient()
    campaign = make_campaign(make_audience(recipient))
    Delivery.objects.create(
        campaign=campaign, recipient=recipient, status="skipped", error=reason_encode("opted_out")
    )
    with translation.override("ru"):
        job = jobs.export_job_create(
            user=user,
            list_model="notifications.delivery",
            query_string="",
            file_format="csv",
            file_name="deliveries.csv",
            rows_total=1,
            time_zone="UTC",
        )
    assert jobs.export_job_run(job.pk) == "done"
    text = jobs.export_path(ExportJob.objects.get(pk=job.pk)).read_text(encoding="utf-8-sig")
    assert "Получатель отписался." in text
    assert "The recipient opted out." not in text
