"""What each export holds, column by column, read from real rows."""

from datetime import UTC, datetime

import pytest
from django.db.models import QuerySet

from notifications.exports import columns
from notifications.exports.columns import delivery_export, event_export, recipient_export
from notifications.models import Delivery, DeliveryEvent, Recipient, RecipientAttribute
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


@pytest.fixture
def campaign():
    return make_campaign(make_audience(), name="Spring sale")


def test_a_delivery_row_names_campaign_recipient_address_status_version_tries_and_error(
    campaign,
):
    ann = make_recipient(external_id="c-1", first_name="Анна", last_name="Иванова")
    Delivery.objects.create(
        campaign=campaign,
        recipient=ann,
        address="79990000001",
        status=Delivery.Status.FAILED,
        content_version=2,
        attempts=3,
        sent_at=SENT_AT,
        error="Number blocked",
    )
    export = delivery_export()
    assert export.headings == (
        "Campaign",
        "Recipient",
        "Name",
        "Sent to",
        "Status",
        "Message version",
        "Tries",
        "Sent at",
        "Error",
    )
    assert list(export.rows(Delivery.objects.all())) == [
        (
            "Spring sale",
            "c-1",
            "Анна Иванова",
            "79990000001",
            "Failed",
            2,
            3,
            SENT_AT,
            "Number blocked",
        )
    ]


def test_a_delivery_tried_before_versions_were_kept_reads_version_1_and_an_untried_one_none(
    campaign,
):
    tried = Delivery.objects.create(
        campaign=campaign, recipient=make_recipient(), status=Delivery.Status.SENT
    )
    waiting = Delivery.objects.create(campaign=campaign, recipient=make_recipient())
    versions = {row[1]: row[5] for row in delivery_export().rows(Delivery.objects.order_by("pk"))}
    assert versions == {tried.recipient.external_id: 1, waiting.recipient.external_id: None}


def test_an_event_row_reads_when_what_campaign_recipient_sms_link_and_detail(campaign):
    ann = make_recipient(external_id="c-1")
    DeliveryEvent.objects.create(
        type="sms_click",
        occurred_at=SENT_AT,
        campaign=campaign,
        recipient=ann,
        sms_id=77,
        link="https://shop.example/sale",
        detail="clicked",
    )
    DeliveryEvent.objects.create(type="sms_unheard_of", occurred_at=SENT_AT)
    export = event_export()
    assert export.headings == (
        "When",
        "Event",
        "Campaign",
        "Recipient",
        "SMS number",
        "Link followed",
        "Detail",
    )
    assert list(export.rows(DeliveryEvent.objects.order_by("pk"))) == [
        (SENT_AT, "SMS click", "Spring sale", "c-1", 77, "https://shop.example/sale", "clicked"),
        (SENT_AT, "sms_unheard_of", None, None, None, "", ""),
    ]


def test_recipients_have_a_column_per_registered_attribute_under_its_label():
    make_recipient(
        external_id="c-1",
        first_name="Ann",
        phone="79990000001",
        opted_out_at=SENT_AT,
        attributes={"city": "Kazan", "vip": True},
    )
    make_recipient(external_id="c-2")
    RecipientAttribute.objects.filter(name="city").update(label="City")
    export = recipient_export()
    assert export.headings == (
        "Recipient",
        "First name",
        "Last name",
        "Phone",
        "Opted out at",
        "City",
        "vip",
    )
    assert list(export.rows(Recipient.objects.order_by("external_id"))) == [
        ("c-1", "Ann", "", "79990000001", SENT_AT, "Kazan", True),
        ("c-2", "", "", "", None, None, None),
    ]


def test_rows_are_read_by_iterator_in_chunks_in_one_query(
    campaign, monkeypatch, django_assert_num_queries
):
    """A large-ish set through a small chunk: every row arrives, from a chunked iterator, and
    never from a queryset evaluated whole (which would cache every row)."""
    recipients = Recipient.objects.bulk_create([Recipient(external_id=f"r{n}") for n in range(250)])
    Delivery.objects.bulk_create(
        [Delivery(campaign=campaign, recipient=recipient) for recipient in recipients]
    )
    monkeypatch.setattr(columns, "CHUNK_ROWS", 40)
    chunk_sizes = []
    real_iterator = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    queryset = Delivery.objects.all()
    with django_assert_num_queries(1):
        count = sum(1 for _ in delivery_export().rows(queryset))
    assert count == 250
    assert chunk_sizes == [40]
    assert queryset._result_cache is None
