"""Shared reads: progress from the counters, and the send ETA within the provider's limits."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.audiences.follow_up import Outcome, follow_up_people
from notifications.audiences.services import audience_sizes_rebuild
from notifications.campaigns.people import campaign_people_count
from notifications.campaigns.plan import send_eta_seconds
from notifications.campaigns.selectors import (
    campaign_follow_up_counts,
    campaign_progress,
    campaigns_people_sizes,
)
from notifications.models import Delivery, DeliveryEvent
from notifications.sending.counters import counters_add, counters_rebuild
from tests.factories import make_audience, make_campaign, make_recipient


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
    from notifications.models import Delivery, DeliveryEvent
    from tests.factories import make_recipient

    start = datetime(2026, 11, 2, tzinfo=UTC)  # midnight: a bucket start for every unit
    campaign = make_campaign(status="completed", started_at=start, finished_at=start + span)
    moments = [start + step * 0.5, start + step * 0.9, start + step * 2.2]
    for moment in moments:
        # A send is its delivery's `sent_at`; an old `sent` event is not counted again.
        Delivery.objects.create(
            campaign=campaign, recipient=make_recipient(), status="sent", sent_at=moment
        )
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

    assert (plan.people, plan.opted_out, plan.no_address) == (3, 1, 1)
    assert plan.requests == 1


# --- People per draft for the list, without counting recipients -----------------------------


@pytest.mark.django_db
def test_a_draft_with_one_static_audience_and_no_exclusions_has_its_kept_size_exactly():
    audience = make_audience(make_recipient(), make_recipient())
    audience_sizes_rebuild()
    campaign = make_campaign(audience)
    size = campaigns_people_sizes(campaigns=[campaign])[campaign.pk]
    assert (size.count, size.exact) == (2, True)


@pytest.mark.django_db
def test_a_draft_with_two_audiences_has_its_kept_count_of_people_with_its_time():
    both = make_recipient()
    campaign = make_campaign(make_audience(both, make_recipient()), make_audience(both))
    counts = campaign_people_count(campaign=campaign)
    size = campaigns_people_sizes(campaigns=[campaign])[campaign.pk]
    assert (size.count, size.counted_at) == (2, counts.counted_at)


@pytest.mark.django_db
def test_a_draft_with_exclusions_has_its_kept_count_not_the_audiences_size():
    person = make_recipient()
    campaign = make_campaign(make_audience(person))
    campaign.excluded_audiences.set([make_audience(person)])
    audience_sizes_rebuild()
    assert campaigns_people_sizes(campaigns=[campaign])[campaign.pk] is None


# --- Follow-up outcomes: the people each would hold -----------------------------------------


@pytest.mark.django_db
def test_follow_up_counts_are_the_people_each_outcome_selects():
    people = [make_recipient() for _ in range(5)]
    campaign = make_campaign(make_audience(*people), status="running")
    statuses = ["sent", "sent", "sent", "failed", "skipped"]
    deliveries = [
        Delivery.objects.create(campaign=campaign, recipient=person, status=status)
        for person, status in zip(people, statuses, strict=True)
    ]
    counters_rebuild(campaign_id=campaign.pk)
    for delivery in deliveries[:1] + deliveries[3:4]:  # a sent one and a failed one clicked
        DeliveryEvent.objects.create(
            type="sms_click", campaign=campaign, recipient=delivery.recipient, sms_id=delivery.pk
        )
    progress = campaign_progress(campaign_id=campaign.pk)
    counts = campaign_follow_up_counts(campaign_id=campaign.pk, progress=progress)
    assert counts == {
        outcome: follow_up_people(campaign=campaign, outcome=outcome).count()
        for outcome in Outcome.values
    }
