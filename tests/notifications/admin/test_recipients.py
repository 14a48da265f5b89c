"""The recipients' admin: the recipient page, bad input as form errors, and the CSV import."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notifications.models import (
    Audience,
    Delivery,
    MessageTemplate,
    Recipient,
)
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


pytestmark = pytest.mark.django_db


def test_recipient_page_shows_audiences_deliveries_and_events(staff, sample_rows):
    page = staff.get(reverse("admin:notifications_recipient_change", args=[sample_rows.pk]))
    html = page.content.decode()
    assert "Everyone" in html
    assert f'?recipient__id__exact={sample_rows.pk}">All deliveries of this recipient' in html
    assert "<td>sent</td>" in html


def test_recipient_history_shows_the_newest_rows_only(staff):
    recipient = make_recipient()
    campaigns = [make_campaign(name=f"c{i:02}") for i in range(25)]
    Delivery.objects.bulk_create(Delivery(campaign=c, recipient=recipient) for c in campaigns)
    html = staff.get(reverse("admin:notifications_recipient_change", args=[recipient.pk])).content
    html = html.decode()
    assert ">c24</a>" in html
    assert ">c05</a>" in html
    assert ">c04</a>" not in html


def test_a_duplicate_external_id_is_a_form_error(staff):
    make_recipient(external_id="c-1", first_name="Original")
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-1",
            "first_name": "Copy",
            "attributes": "{}",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Recipient with this External id already exists." in response.content.decode()
    assert Recipient.objects.get(external_id="c-1").first_name == "Original"


def test_recipient_attributes_must_be_usable_as_variables(staff):
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-9",
            "attributes": '{"bad name": 1}',
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert "cannot be a template variable" in response.content.decode()
    assert not Recipient.objects.filter(external_id="c-9").exists()


def test_a_bad_address_is_a_form_error_on_its_inline(staff):
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-9",
            "attributes": "{}",
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-0-channel": "yandex_market",
            "addresses-0-value": "chat-abc",
        },
    )
    assert "Yandex Market chatId must be a positive whole number" in response.content.decode()
    assert not Recipient.objects.exists()


def test_saving_a_recipient_registers_its_attribute_names(staff):
    staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-9",
            "attributes": '{"tier": "gold"}',
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    response = staff.post(
        reverse("admin:notifications_messagetemplate_add"),
        {"name": "Tiered", "title": "Hi", "body": "Your tier: {{ tier }}"},
    )
    assert response.status_code == 302
    assert MessageTemplate.objects.filter(name="Tiered").exists()


def test_csv_import_checks_the_file_first_and_imports_only_on_confirmation(staff):
    upload = SimpleUploadedFile(
        "people.csv", b"external_id,phone\nc-1,79990000001\nc-2,oops\n", content_type="text/csv"
    )
    url = reverse("admin:notifications_audience_import")
    check = staff.post(url, {"file": upload, "new_audience": "Spring"})
    html = check.content.decode()
    assert check.status_code == 200
    assert "nothing is imported yet" in html
    assert "&#x27;oops&#x27; is not a phone number" in html
    assert not Recipient.objects.exists()
    assert not Audience.objects.filter(name="Spring").exists()

    token = check.context["pending"]["token"]
    done = staff.post(url, {"confirm": token}, follow=True)
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in done.content.decode()
    assert list(
        Audience.objects.get(name="Spring").members.values_list("external_id", flat=True)
    ) == ["c-1"]


def test_a_checked_import_cannot_be_confirmed_twice(staff):
    upload = SimpleUploadedFile("people.csv", b"external_id\nc-1\n", content_type="text/csv")
    url = reverse("admin:notifications_audience_import")
    token = staff.post(url, {"file": upload, "new_audience": "Once"}).context["pending"]["token"]
    staff.post(url, {"confirm": token})
    again = staff.post(url, {"confirm": token}, follow=True)
    assert "That check has expired" in again.content.decode()
    assert Recipient.objects.count() == 1


def test_a_dry_run_into_an_existing_audience_counts_updates(staff):
    make_recipient(external_id="c-1", first_name="Old")
    audience = make_audience()
    upload = SimpleUploadedFile(
        "people.csv", b"external_id,first_name\nc-1,New\nc-2,Bo\n", content_type="text/csv"
    )
    check = staff.post(
        reverse("admin:notifications_audience_import"), {"file": upload, "audience": audience.pk}
    )
    report = check.context["report"]
    assert (report.created, report.updated, len(report.rejected)) == (1, 1, 0)
    assert Recipient.objects.get(external_id="c-1").first_name == "Old"


def test_csv_import_page_refuses_a_bad_file_without_importing(staff):
    upload = SimpleUploadedFile("people.csv", b"id,phone\n1,2\n", content_type="text/csv")
    audience = make_audience()
    response = staff.post(
        reverse("admin:notifications_audience_import"), {"file": upload, "audience": audience.pk}
    )
    assert "The header has no external_id column" in response.content.decode()
    assert not Recipient.objects.exists()


def test_csv_import_needs_permission_to_change_recipients(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audience"))
    client.force_login(user)
    assert client.get(reverse("admin:notifications_audience_import")).status_code == 403
