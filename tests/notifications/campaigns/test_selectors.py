"""Shared reads: progress from the counters, and the send ETA within the provider's limits."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.campaigns.plan import send_eta_seconds
from notifications.campaigns.selectors import campaign_progress
from notifications.sending.counters import counters_add
from tests.factories import make_campaign


@pytest.fixture(autouse=True)
def imshop(settings):
    settings.IMSHOP_PUSH_URL = "https://imshop.test/push"
    settings.IMSHOP_API_KEY = "key"


def test_identical_imshop_pushes_share_requests_so_1000_go_at_once():
    content = {"title": "Sale", "body": "Today"}
    assert send_eta_seconds(channel="imshop", content=content, messages=1000) == 0.0
    # 1001 need two requests: the second waits a minute (10 requests a minute).
    assert send_eta_seconds(channel="imshop", content=content, messages=1001) == 6.0


def test_personalised_imshop_pushes_need_a_request_each():
    content = {"title": "Hi {{ first_name }}", "body": "Today"}
    # 60 requests at 10 a minute, the first at once: 59 * 6 s.
    assert send_eta_seconds(channel="imshop", content=content, messages=60) == 354.0


def test_yandex_market_takes_an_hour_per_thousand_chats(settings):
    settings.YANDEX_MARKET_API_KEY = "key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    eta = send_eta_seconds(channel="yandex_market", content={"body": "Hi"}, messages=2001)
    assert eta == pytest.approx(2000 * 3.6)


def test_an_unconfigured_provider_has_no_eta():
    assert send_eta_seconds(channel="leadconverter", content={"body": "x"}, messages=5) is None


@pytest.mark.django_db
def test_progress_reads_the_counters():
    campaign = make_campaign()
    counters_add(campaign_id=campaign.pk, deltas={"sent": 7, "pending": 3, "failed": 1})
    progress = campaign_progress(campaign_id=campaign.pk)
    assert (progress["total"], progress["done"], progress["sent"]) == (11, 8, 7)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("span", "unit", "step"),
    [
        (timedelta(hours=1), "minute", timedelta(minutes=1)),
        (timedelta(days=2), "hour", timedelta(hours=1)),
        (timedelta(days=20), "day", timedelta(days=1)),
    ],
)
def test_the_timeline_counts_events_per_bucket_in_utc(span, unit, step):
    from notifications.campaigns.timeline import campaign_timeline
    from notifications.models import DeliveryEvent

    start = datetime(2026, 11, 2, tzinfo=UTC)  # midnight: a bucket start for every unit
    campaign = make_campaign(status="completed", started_at=start, finished_at=start + span)
    moments = [start + step * 0.5, start + step * 0.9, start + step * 2.2]
    for moment in moments:
        DeliveryEvent.objects.create(type="sent", campaign=campaign, occurred_at=moment)
    DeliveryEvent.objects.create(type="sms_click", campaign=campaign, occurred_at=moments[2])

    timeline = campaign_timeline(campaign=campaign)

    assert timeline.unit == unit
    assert timeline.buckets == [start, start + step, start + 2 * step]
    assert all(bucket.utcoffset() == timedelta(0) for bucket in timeline.buckets)
    assert timeline.series("sent") == [2, 0, 1]
    assert timeline.series("sms_click") == [0, 0, 1]


@pytest.mark.django_db
def test_the_send_plan_counts_each_person_once_and_says_who_is_skipped():
    from django.utils import timezone

    from notifications.campaigns.plan import campaign_send_plan
    from tests.factories import make_audience, make_recipient

    both = make_recipient(external_id="both", addresses={"leadconverter": "1", "bitrix24": "5"})
    other_channel = make_recipient(external_id="other", addresses={"bitrix24": "6"})
    opted_out = make_recipient(
        external_id="out", addresses={"leadconverter": "2"}, opted_out_at=timezone.now()
    )
    campaign = make_campaign(
        make_audience(both, other_channel),
        make_audience(both, opted_out),  # "both" is in two audiences
        channel="leadconverter",
    )

    plan = campaign_send_plan(campaign=campaign, content={"body": "Hi"})

    assert (plan.audience, plan.opted_out, plan.no_address) == (3, 1, 1)
    assert plan.requests == 1
