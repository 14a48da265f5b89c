"""Linking SMS callbacks to recipients, campaigns and deliveries: at ingest, and later."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.campaigns.sms import SmsLink, SmsOrigin, sms_events_link_pending, sms_links_find
from notifications.models import Delivery, DeliveryEvent
from tests.factories import make_campaign, make_recipient
from tests.webhooks.conftest import TS, sendios_body, sms_event

pytestmark = pytest.mark.django_db

AT = datetime.fromtimestamp(TS, tz=UTC)
HOUR = timedelta(hours=1)


def sendios_campaign(**fields):
    """A campaign that owns Sendios project 99, template 15 (the vendor samples' ids)."""
    fields.setdefault("sendios_project_id", 99)
    fields.setdefault("sendios_template_id", 15)
    return make_campaign(**fields)


def links():
    """(sms_id, recipient, campaign, delivery) of every stored event."""
    return list(
        DeliveryEvent.objects.order_by("sms_id").values_list(
            "sms_id", "recipient_id", "campaign_id", "delivery_id"
        )
    )


def test_recipient_campaign_and_delivery_are_linked_at_ingest(sendios):
    recipient = make_recipient(external_id="test123")
    campaign = sendios_campaign(status="running", started_at=AT - HOUR)
    delivery = Delivery.objects.create(campaign=campaign, recipient=recipient)
    sendios(sendios_body(sms_event()))
    assert links() == [(1233, recipient.pk, campaign.pk, delivery.pk)]


def test_without_a_delivery_the_recipient_and_campaign_are_still_linked(sendios):
    recipient = make_recipient(external_id="test123")
    campaign = sendios_campaign(started_at=AT - HOUR)
    sendios(sendios_body(sms_event()))
    assert links() == [(1233, recipient.pk, campaign.pk, None)]


def test_the_campaign_running_at_the_time_is_chosen_among_those_sharing_sendios_ids(sendios):
    sendios_campaign(started_at=AT - 5 * HOUR, finished_at=AT - 4 * HOUR)
    running = sendios_campaign(started_at=AT - 3 * HOUR, finished_at=AT + HOUR)
    sendios_campaign(started_at=AT + 2 * HOUR)  # later: not yet started at the time
    sendios(sendios_body(sms_event()))
    assert DeliveryEvent.objects.get().campaign_id == running.pk


def test_a_campaign_started_and_not_finished_is_running(sendios):
    sendios_campaign(started_at=AT - 5 * HOUR, finished_at=AT - 4 * HOUR)
    unfinished = sendios_campaign(started_at=AT - 6 * HOUR)
    sendios(sendios_body(sms_event()))
    assert DeliveryEvent.objects.get().campaign_id == unfinished.pk


def test_without_a_running_campaign_the_latest_started_before_the_time_is_chosen(sendios):
    sendios_campaign(started_at=AT - 5 * HOUR, finished_at=AT - 4 * HOUR)
    latest = sendios_campaign(started_at=AT - 3 * HOUR, finished_at=AT - 2 * HOUR)
    sendios(sendios_body(sms_event()))
    assert DeliveryEvent.objects.get().campaign_id == latest.pk


def test_a_dispatched_campaign_not_yet_started_counts_from_its_dispatch(sendios):
    scheduled = sendios_campaign(status="scheduled", dispatched_at=AT - HOUR)
    sendios(sendios_body(sms_event()))
    assert DeliveryEvent.objects.get().campaign_id == scheduled.pk


def test_campaigns_with_other_sendios_ids_or_not_yet_started_are_not_chosen(sendios):
    sendios_campaign(sendios_template_id=16, started_at=AT - HOUR)
    sendios_campaign(sendios_project_id=98, started_at=AT - HOUR)
    sendios_campaign(started_at=AT + HOUR)
    sendios_campaign()  # a draft
    sendios(sendios_body(sms_event()))
    assert DeliveryEvent.objects.get().campaign_id is None


def test_one_body_is_linked_with_one_lookup_per_kind(django_assert_num_queries):
    recipients = [make_recipient(external_id=f"u{n}") for n in range(30)]
    campaign = sendios_campaign(started_at=AT - HOUR)
    Delivery.objects.bulk_create(Delivery(campaign=campaign, recipient=r) for r in recipients)
    origins = [SmsOrigin(f"u{n}", 99, 15, AT) for n in range(30)]
    with django_assert_num_queries(3):
        found = sms_links_find(origins=origins)
    deliveries = dict(Delivery.objects.values_list("recipient_id", "pk"))
    assert found == [SmsLink(r.pk, campaign.pk, deliveries[r.pk]) for r in recipients]


class TestLinkingLater:
    def test_events_of_a_recipient_imported_afterwards_are_linked_to_them(self, sendios):
        sendios(sendios_body(sms_event(sms_id=1), sms_event(sms_id=2, event="sms_lost")))
        recipient = make_recipient(external_id="test123")
        assert sms_events_link_pending(recipient_ids=[recipient.pk]) == 2
        assert links() == [(1, recipient.pk, None, None), (2, recipient.pk, None, None)]

    def test_events_of_a_campaign_configured_afterwards_are_linked_to_it(self, sendios):
        sendios(sendios_body(sms_event()))
        campaign = sendios_campaign(started_at=AT - HOUR)
        assert sms_events_link_pending(campaign_ids=[campaign.pk]) == 1
        assert links() == [(1233, None, campaign.pk, None)]

    def test_the_delivery_is_linked_once_recipient_and_campaign_are_known(self, sendios):
        sendios(sendios_body(sms_event()))
        recipient = make_recipient(external_id="test123")
        campaign = sendios_campaign(started_at=AT - HOUR)
        delivery = Delivery.objects.create(campaign=campaign, recipient=recipient)
        assert sms_events_link_pending() == 3
        assert links() == [(1233, recipient.pk, campaign.pk, delivery.pk)]

    def test_a_delivery_created_after_the_event_is_linked_for_its_campaign(self, sendios):
        recipient = make_recipient(external_id="test123")
        campaign = sendios_campaign(started_at=AT - HOUR)
        sendios(sendios_body(sms_event()))
        delivery = Delivery.objects.create(campaign=campaign, recipient=recipient)
        assert sms_events_link_pending(campaign_ids=[campaign.pk]) == 1
        assert links() == [(1233, recipient.pk, campaign.pk, delivery.pk)]

    def test_the_campaign_is_chosen_by_time_as_at_ingest(self, sendios):
        sendios(sendios_body(sms_event(sms_id=1, ts=TS), sms_event(sms_id=2, ts=TS + 7200)))
        first = sendios_campaign(started_at=AT - HOUR, finished_at=AT + HOUR)
        second = sendios_campaign(started_at=AT + 90 * timedelta(minutes=1))
        sendios_campaign(started_at=AT - 9 * HOUR)  # unfinished, but started before both
        assert sms_events_link_pending() == 2
        assert links() == [(1, None, first.pk, None), (2, None, second.pk, None)]
        DeliveryEvent.objects.all().delete()
        sendios(sendios_body(sms_event(sms_id=1, ts=TS), sms_event(sms_id=2, ts=TS + 7200)))
        assert links() == [(1, None, first.pk, None), (2, None, second.pk, None)]

    def test_only_the_given_recipients_events_are_linked(self, sendios):
        sendios(
            sendios_body(
                sms_event(sms_id=1, client_user_id="a"), sms_event(sms_id=2, client_user_id="b")
            )
        )
        a = make_recipient(external_id="a")
        make_recipient(external_id="b")
        assert sms_events_link_pending(recipient_ids=[a.pk]) == 1
        assert links() == [(1, a.pk, None, None), (2, None, None, None)]

    def test_linking_recipients_leaves_campaigns_alone(self, sendios):
        sendios(sendios_body(sms_event()))
        recipient = make_recipient(external_id="test123")
        sendios_campaign(started_at=AT - HOUR)
        assert sms_events_link_pending(recipient_ids=[recipient.pk]) == 1
        assert links() == [(1233, recipient.pk, None, None)]

    def test_events_already_linked_are_not_moved(self, sendios):
        old = sendios_campaign(started_at=AT - HOUR)
        sendios(sendios_body(sms_event()))
        old.sendios_template_id = 16
        old.save()
        sendios_campaign(started_at=AT - 2 * HOUR)
        assert sms_events_link_pending() == 0
        assert links() == [(1233, None, old.pk, None)]

    def test_other_event_types_are_never_linked(self, sendios):
        sendios(sendios_body({"event": "sent", "client_user_id": "test123", "project_id": 99}))
        make_recipient(external_id="test123")
        sendios_campaign(started_at=AT - HOUR)
        assert sms_events_link_pending() == 0

    def test_nothing_pending_links_nothing(self):
        assert sms_events_link_pending() == 0
