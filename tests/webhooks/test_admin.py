"""The inbox in the admin: bodies, their events' fate, filters and reprocessing."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import translation

from notifications.models import DeliveryEvent
from notifications.reasons import reason_text
from tests.webhooks.conftest import fixture_bytes, sendios_body, sms_event
from webhooks.models import InboundEvent, InboundWebhook
from webhooks.services import sms_webhook_receive

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:webhooks_inboundwebhook_changelist")


def receive(body: bytes) -> InboundWebhook:
    receipt = sms_webhook_receive(body=body, headers={})
    return InboundWebhook.objects.get(pk=receipt.inbound_id)


def reprocess(client, *inbound: InboundWebhook):
    return client.post(
        CHANGELIST,
        {"action": "reprocess", "_selected_action": [row.pk for row in inbound]},
        follow=True,
    )


def test_a_body_page_shows_the_body_and_what_became_of_each_event(admin_client):
    inbound = receive(sendios_body(sms_event(sms_id=1), sms_event(sms_id="x")))
    stored = DeliveryEvent.objects.get()
    page = admin_client.get(reverse("admin:webhooks_inboundwebhook_change", args=[inbound.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "&quot;sms_id&quot;: &quot;x&quot;" in content  # the raw body
    assert "&quot;sms_id&quot; must be a whole number, not &quot;x&quot;." in content
    assert reverse("admin:notifications_deliveryevent_change", args=[stored.pk]) in content
    assert f"?inbound__id__exact={inbound.pk}" in content


def test_a_body_page_lists_only_its_first_200_events(admin_client):
    inbound = receive(sendios_body(*[sms_event(sms_id=n) for n in range(205)]))
    page = admin_client.get(reverse("admin:webhooks_inboundwebhook_change", args=[inbound.pk]))
    assert page.context["inline_admin_formsets"][0].formset.queryset.count() == 200


def test_the_inbox_filters_by_status(admin_client):
    receive(fixture_bytes("sms_sent.json"))
    rejected = receive(fixture_bytes("vendor_sms_sent_as_printed.txt"))
    page = admin_client.get(CHANGELIST, {"status__exact": "rejected"})
    assert [row.pk for row in page.context["cl"].result_list] == [rejected.pk]


def test_reprocess_parses_a_body_that_was_stored_but_never_processed(admin_client):
    body = fixture_bytes("sms_lost.json")
    inbound = InboundWebhook.objects.create(body=body, body_size=len(body))
    page = reprocess(admin_client, inbound)
    inbound.refresh_from_db()
    assert (inbound.status, inbound.accepted) == ("processed", 1)
    assert DeliveryEvent.objects.get().type == "sms_lost"
    assert f"#{inbound.pk}: 1 accepted, 0 duplicates, 0 rejected." in page.content.decode()


def test_reprocessing_twice_stores_nothing_new(admin_client):
    inbound = receive(fixture_bytes("sms_click.json"))
    reprocess(admin_client, inbound)
    reprocess(admin_client, inbound)
    assert DeliveryEvent.objects.count() == 1
    assert list(InboundEvent.objects.values_list("outcome", flat=True)) == ["accepted"]


def test_reprocess_reports_a_body_that_holds_no_events(admin_client):
    inbound = receive(b"not json")
    page = reprocess(admin_client, inbound)
    assert (
        f"#{inbound.pk} rejected: The body is not valid JSON: Expecting value at line 1 column 1."
        in page.content.decode()
    )


def test_reprocess_explains_why_a_refused_body_cannot_be_processed(admin_client):
    inbound = InboundWebhook.objects.create(
        body=b"", body_size=2_000_000, status="rejected", error="Too large."
    )
    page = reprocess(admin_client, inbound)
    assert f"Inbound webhook #{inbound.pk} kept no body to process: Too large." in (
        page.content.decode()
    )


def test_staff_who_may_only_view_the_inbox_cannot_reprocess(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_inboundwebhook"))
    client.force_login(viewer)
    body = fixture_bytes("sms_sent.json")
    inbound = InboundWebhook.objects.create(body=body, body_size=len(body))
    assert client.get(CHANGELIST).status_code == 200
    reprocess(client, inbound)
    inbound.refresh_from_db()
    assert inbound.status == "received"
    assert DeliveryEvent.objects.count() == 0


def test_staff_who_may_change_the_inbox_can_reprocess(client):
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_inboundwebhook", "change_inboundwebhook"])
    )
    client.force_login(editor)
    body = fixture_bytes("sms_sent.json")
    inbound = InboundWebhook.objects.create(body=body, body_size=len(body))
    reprocess(client, inbound)
    inbound.refresh_from_db()
    assert inbound.status == "processed"


def test_the_event_list_filters_rejected_events(admin_client):
    receive(sendios_body(sms_event(sms_id=1), sms_event(sms_id=-1)))
    page = admin_client.get(
        reverse("admin:webhooks_inboundevent_changelist"), {"outcome__exact": "rejected"}
    )
    assert [reason_text(row.reason) for row in page.context["cl"].result_list] == [
        '"sms_id" -1 is out of range.'
    ]


def test_why_a_body_and_an_event_were_refused_reads_in_the_russian_readers_language(
    admin_client,
):
    refused = receive(b"")
    kept = receive(sendios_body(sms_event(sms_id=-1)))
    pages = [
        reverse("admin:webhooks_inboundwebhook_change", args=[refused.pk]),
        reverse("admin:webhooks_inboundwebhook_change", args=[kept.pk]),
        reverse("admin:webhooks_inboundevent_changelist"),
    ]
    with translation.override("en"):
        russian = [
            admin_client.get(page, HTTP_ACCEPT_LANGUAGE="ru").content.decode() for page in pages
        ]
    assert "Тело запроса пусто: ожидаются события в JSON." in russian[0]
    assert "«sms_id» -1 вне допустимого диапазона." in russian[1]
    assert "«sms_id» -1 вне допустимого диапазона." in russian[2]
    assert "@webhook_" not in "".join(russian)
