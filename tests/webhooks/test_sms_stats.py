"""A campaign's SMS stats: sent, lost, delivered, clicked, counted per SMS whatever the order."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.campaigns.sms import SmsStats, campaign_sms_stats
from notifications.models import DeliveryEvent
from tests.factories import make_campaign
from tests.webhooks.conftest import TS, sendios_body, sms_event

pytestmark = pytest.mark.django_db

AT = datetime.fromtimestamp(TS, tz=UTC)


@pytest.fixture
def campaign():
    return make_campaign(
        sendios_project_id=99, sendios_template_id=15, started_at=AT - timedelta(hours=1)
    )


def event(name: str, sms_id: int, **fields):
    return sms_event(event=name, sms_id=sms_id, **fields)


def test_an_sms_lost_before_its_sms_sent_still_counts_as_lost(sendios, campaign):
    sendios(sendios_body(event("sms_lost", 1)))
    sendios(sendios_body(event("sms_sent", 1, ts=TS + 60)))
    assert campaign_sms_stats(campaign_id=campaign.pk) == SmsStats(
        sent=1, lost=1, delivered=0, clicked=0, click_through_rate=None
    )


def test_an_sms_lost_whose_sms_sent_has_not_arrived_counts_as_sent_and_lost(sendios, campaign):
    sendios(sendios_body(event("sms_sent", 1), event("sms_lost", 2)))
    assert campaign_sms_stats(campaign_id=campaign.pk) == SmsStats(
        sent=2, lost=1, delivered=1, clicked=0, click_through_rate=0.0
    )


def test_the_click_through_rate_is_distinct_sms_clicked_over_delivered(sendios, campaign):
    sendios(
        sendios_body(
            *(event("sms_sent", n) for n in range(1, 6)),
            event("sms_lost", 5),
            event("sms_click", 1, link="a.example"),
            event("sms_click", 1, link="b.example"),
            event("sms_click", 1, link="a.example", ts=TS + 5),
            event("sms_click", 2, link="a.example"),
        )
    )
    assert campaign_sms_stats(campaign_id=campaign.pk) == SmsStats(
        sent=5, lost=1, delivered=4, clicked=2, click_through_rate=0.5
    )


def test_repeated_callbacks_do_not_inflate_the_counts(sendios, campaign):
    body = sendios_body(event("sms_sent", 1), event("sms_click", 1, link="a.example"))
    sendios(body)
    sendios(body)
    sendios(sendios_body(event("sms_sent", 1, ts=TS + 1)))  # a resend with a new ts
    assert campaign_sms_stats(campaign_id=campaign.pk) == SmsStats(
        sent=1, lost=0, delivered=1, clicked=1, click_through_rate=1.0
    )


def test_only_the_campaigns_own_sms_count(sendios, campaign):
    other = make_campaign(
        sendios_project_id=99, sendios_template_id=16, started_at=AT - timedelta(hours=1)
    )
    sendios(sendios_body(event("sms_sent", 1), event("sms_sent", 2, template_id=16)))
    DeliveryEvent.objects.create(type="sent", campaign=campaign)
    assert campaign_sms_stats(campaign_id=campaign.pk).sent == 1
    assert campaign_sms_stats(campaign_id=other.pk).sent == 1


def test_a_campaign_without_sms_has_zero_everywhere(campaign):
    assert campaign_sms_stats(campaign_id=campaign.pk) == SmsStats(
        sent=0, lost=0, delivered=0, clicked=0, click_through_rate=None
    )


def test_the_stats_are_one_query(campaign, django_assert_num_queries):
    with django_assert_num_queries(1):
        campaign_sms_stats(campaign_id=campaign.pk)
