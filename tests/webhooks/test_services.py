"""Ingesting stored bodies: reprocessing, and how few queries a body of 100 events takes."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.models import Delivery, DeliveryEvent
from notifications.reasons import reason_encode
from tests.factories import make_campaign, make_recipient
from tests.webhooks.conftest import TS, fixture_bytes, sendios_body, sms_event
from webhooks.models import InboundWebhook
from webhooks.services import (
    NotReprocessable,
    Rejection,
    WebhookReceipt,
    inbound_webhook_reprocess,
    sms_webhook_receive,
)

pytestmark = pytest.mark.django_db

AT = datetime.fromtimestamp(TS, tz=UTC)


def receive(body: bytes) -> WebhookReceipt:
    return sms_webhook_receive(body=body, headers={"Content-Type": "application/json"})


def test_a_receipt_says_what_became_of_the_body():
    receipt = receive(sendios_body(sms_event(sms_id=1), sms_event(sms_id=True)))
    assert receipt == WebhookReceipt(
        inbound_id=InboundWebhook.objects.get().pk,
        status="processed",
        accepted=1,
        duplicates=0,
        rejected=1,
        rejections=(
            Rejection(
                "1", reason_encode("webhook_event_field_not_integer", name="sms_id", value="true")
            ),
        ),
    )


def test_the_answer_lists_at_most_100_rejections_and_counts_them_all():
    receipt = receive(sendios_body(*[{"event": ""}] * 150))
    assert (receipt.rejected, len(receipt.rejections)) == (150, 100)


def test_reprocessing_a_body_stores_nothing_twice_and_keeps_its_record():
    first = receive(sendios_body(sms_event(sms_id=1), sms_event(sms_id=1), sms_event(sms_id=-1)))
    again = inbound_webhook_reprocess(inbound_id=first.inbound_id)
    assert again == first
    assert DeliveryEvent.objects.count() == 1
    inbound = InboundWebhook.objects.get()
    assert list(inbound.events.values_list("outcome", flat=True)) == [
        "accepted",
        "duplicate",
        "rejected",
    ]


def test_reprocessing_a_body_another_request_delivered_first_counts_duplicates():
    body = sendios_body(sms_event(sms_id=1))
    receive(body)
    stored_twice = InboundWebhook.objects.create(body=body, body_size=len(body))
    receipt = inbound_webhook_reprocess(inbound_id=stored_twice.pk)
    assert (receipt.accepted, receipt.duplicates) == (0, 1)


def test_reprocessing_a_body_stored_but_never_processed_stores_its_events():
    body = fixture_bytes("sms_click.json")
    inbound = InboundWebhook.objects.create(body=body, body_size=len(body))
    receipt = inbound_webhook_reprocess(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert (receipt.accepted, inbound.status, inbound.accepted) == (1, "processed", 1)
    assert DeliveryEvent.objects.get().type == "sms_click"


def test_reprocessing_a_body_that_holds_no_events_rejects_it_again():
    receipt = receive(b"not json")
    again = inbound_webhook_reprocess(inbound_id=receipt.inbound_id)
    assert again == receipt
    assert InboundWebhook.objects.get().status == "rejected"


def test_a_body_refused_as_too_large_cannot_be_reprocessed():
    inbound = InboundWebhook.objects.create(
        body=b"", body_size=5_000_000, status="rejected", error="Too large."
    )
    with pytest.raises(NotReprocessable) as refused:
        inbound_webhook_reprocess(inbound_id=inbound.pk)
    assert str(refused.value) == (
        f"Inbound webhook #{inbound.pk} kept no body to process: Too large."
    )


@pytest.fixture
def hundred_sms():
    """A body of 100 SMS events for 100 recipients of one campaign, every one with a delivery."""
    recipients = [make_recipient(external_id=f"u{n}") for n in range(100)]
    campaign = make_campaign(
        sendios_project_id=99, sendios_template_id=15, started_at=AT - timedelta(hours=1)
    )
    Delivery.objects.bulk_create(Delivery(campaign=campaign, recipient=r) for r in recipients)
    return sendios_body(*[sms_event(sms_id=n, client_user_id=f"u{n}") for n in range(100)])


def test_a_body_of_100_events_is_stored_in_a_few_queries(
    hundred_sms, django_assert_max_num_queries
):
    # Inbox row, savepoint, three lookups, events (two batches on SQLite), records, counts.
    with django_assert_max_num_queries(10):
        receipt = receive(hundred_sms)
    assert receipt.accepted == 100
    assert DeliveryEvent.objects.filter(delivery__isnull=False).count() == 100


def test_a_repeated_body_of_100_events_is_answered_in_a_few_queries(
    hundred_sms, django_assert_max_num_queries
):
    receive(hundred_sms)
    with django_assert_max_num_queries(11):
        receipt = receive(hundred_sms)
    assert receipt.duplicates == 100
