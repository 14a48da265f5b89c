"""The admin: every page opens, bad input is a form error, and nothing good is lost."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notifications.models import (
    Audience,
    Campaign,
    Delivery,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from webhooks.models import InboundWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.fixture
def sample_rows():
    recipient = make_recipient(
        external_id="c-1",
        first_name="Ann",
        attributes={"city": "Kazan"},
        addresses={"bitrix24": "7"},
    )
    audience = make_audience(recipient, name="Everyone")
    campaign = make_campaign(audience)
    delivery = Delivery.objects.create(campaign=campaign, recipient=recipient, address="7")
    DeliveryEvent.objects.create(
        type="sent", campaign=campaign, delivery=delivery, recipient=recipient, detail="ok"
    )
    InboundWebhook.objects.create(
        body=b'{"0": {"event": "sms_sent"}}', content_type="application/json"
    )
    return recipient


def test_every_admin_page_opens(staff, sample_rows):
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert staff.get(changelist).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert staff.get(change).status_code == 200, change
        if model_admin.has_add_permission(type("R", (), {"user": staff_user()})()):
            add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            assert staff.get(add).status_code == 200, add


def staff_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="admin")


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


def test_an_invalid_template_is_refused_with_field_errors(staff):
    response = staff.post(
        reverse("admin:notifications_messagetemplate_add"),
        {
            "name": "Broken",
            "title": "Hi {{ first_name",
            "body": "{{ no_such_thing }}",
            "deeplink": "javascript:alert(1)",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Template error:" in html
    assert "No recipient has this variable: no_such_thing." in html
    assert "The link uses the &#x27;javascript&#x27; scheme" in html
    assert not MessageTemplate.objects.filter(name="Broken").exists()


def test_editing_a_template_cannot_break_a_draft_campaign_using_it(staff):
    template = make_template(title="Hi", body="Text")
    make_campaign(template=template, channel="imshop")
    response = staff.post(
        reverse("admin:notifications_messagetemplate_change", args=[template.pk]),
        {"name": template.name, "title": "", "body": "Text"},
    )
    assert "Imshop pushes need a title. (a draft campaign on this channel uses it)" in (
        response.content.decode()
    )
    template.refresh_from_db()
    assert template.title == "Hi"


def test_a_campaign_needs_a_template_that_fits_its_channel(staff):
    template = make_template(title="", body="Text only")
    audience = make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {"name": "Push", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
    )
    assert "cannot go out here: Imshop pushes need a title." in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_campaign_records_who_created_it(staff):
    template, audience = make_template(), make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {"name": "Push", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
    )
    assert response.status_code == 302
    assert Campaign.objects.get().created_by.username == "admin"


def test_sendios_ids_come_in_pairs(staff):
    template, audience = make_template(), make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {
            "name": "Push",
            "channel": "imshop",
            "template": template.pk,
            "audiences": [audience.pk],
            "sendios_project_id": "99",
        },
    )
    assert "Give both the Sendios project id and template id, or neither." in (
        response.content.decode()
    )


def test_a_dispatched_campaign_cannot_be_edited(staff):
    campaign = make_campaign(make_audience(), status=Campaign.Status.RUNNING, name="Frozen")
    other = make_template(name="Other")
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    staff.post(url, {"name": "Changed", "channel": "bitrix24", "template": other.pk})
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel) == ("Frozen", "imshop")


def test_preview_renders_for_a_chosen_recipient_on_every_channel(staff):
    make_recipient(external_id="c-1", first_name="Ann", attributes={"city": "Kazan"})
    template = make_template(title="Hi {{ first_name }}", body="Sale in {{ city }}")
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    html = staff.get(url, {"recipient": "c-1"}).content.decode()
    assert "Hi Ann" in html
    assert "Sale in Kazan" in html
    assert html.count('class="module preview"') == 4


def test_preview_shows_why_a_recipient_cannot_get_the_message(staff):
    make_recipient(external_id="c-2", first_name="Bob")
    template = make_template(title="Hi", body="Sale in {{ city }}")
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    html = staff.get(url, {"recipient": "c-2"}).content.decode()
    assert "body: &#x27;city&#x27; is undefined" in html


def test_preview_says_when_no_recipient_matches(staff):
    template = make_template()
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    assert (
        "No recipient has external_id “ghost”."
        in staff.get(url, {"recipient": "ghost"}).content.decode()
    )


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
