"""Frequency caps before and after dispatch, on the real database with a frozen clock: who of
a draft's reachable a cap holds now (as the send path would decide), what the send plan and
the time left make of it, and a campaign's deferred and skipped rows counted."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.campaigns.capped import campaign_capped_deliveries, recipients_capped
from notifications.campaigns.caps import cap_verdict, caps_for, sends_counted
from notifications.campaigns.plan import campaign_recipients_left, campaign_send_plan
from notifications.campaigns.selectors import campaign_message, campaign_progress
from notifications.campaigns.time_left import campaign_time_left_estimate
from notifications.models import Campaign, FrequencyCap
from tests.factories import make_audience, make_campaign, make_recipient
from tests.notifications.flows import LEADCONVERTER_SEND, dispatched, people, send_all

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]

NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def provider_ok(mocked):
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    return mocked


def cap(limit: int, period: str = "day", channel: str = "") -> FrequencyCap:
    return FrequencyCap.objects.create(limit=limit, period=period, channel=channel)


def sent_to(recipients, **fields) -> Campaign:
    campaign = dispatched("leadconverter", recipients)
    if fields:
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        campaign.refresh_from_db()
    send_all(campaign)
    return campaign


def draft(recipients, **fields) -> Campaign:
    return make_campaign(make_audience(*recipients), channel="leadconverter", **fields)


@pytest.fixture
def two_at_the_cap(frozen):
    """A cap of 1 a day; Ann was sent a message at noon, Bob at 14:00; Cid nothing. Now 15:00."""
    cap(1, "day")
    ann, bob, cid = people(3)
    frozen(NOON)
    sent_to([ann])
    frozen(NOON + timedelta(hours=2))
    sent_to([bob])
    frozen(NOON + timedelta(hours=3))
    return ann, bob, cid


def test_those_at_a_cap_are_counted_with_when_the_first_and_the_last_may_go_again(
    two_at_the_cap,
):
    campaign = draft(two_at_the_cap)
    forecast = recipients_capped(
        campaign_recipients_left(campaign), campaign, NOON + timedelta(hours=3)
    )
    assert forecast.count == 2
    assert forecast.policies == 1
    assert forecast.first_allowed == NOON + timedelta(days=1)
    assert forecast.last_allowed == NOON + timedelta(days=1, hours=2)


def test_the_count_agrees_with_the_send_paths_verdict_under_several_caps(frozen):
    cap(1, "day", "leadconverter")
    cap(3, "week")
    cap(1, "day", "imshop")  # not this campaign's channel: never counted against it
    crowd = people(6)
    for day, group in enumerate([crowd[:4], crowd[:2], crowd[1:3], crowd[4:5]]):
        frozen(NOON + timedelta(days=day))
        sent_to(group)
    now = NOON + timedelta(days=3, hours=5)
    frozen(now)
    campaign = draft(crowd)
    forecast = recipients_capped(campaign_recipients_left(campaign), campaign, now)

    caps = caps_for("leadconverter")
    sent = sends_counted([p.pk for p in crowd], since=now - timedelta(days=7))
    verdicts = [cap_verdict(caps, "leadconverter", sent.get(p.pk, ()), now) for p in crowd]
    allowed = [v.allowed_at for v in verdicts if v is not None]
    assert forecast.policies == 2
    assert forecast.count == len(allowed) == 2
    assert (forecast.first_allowed, forecast.last_allowed) == (min(allowed), max(allowed))


def test_the_count_is_one_query_per_policy_however_many_people(
    two_at_the_cap, django_assert_num_queries
):
    cap(5, "week")
    others = [
        make_recipient(external_id=f"o-{i}", addresses={"leadconverter": str(2000 + i)})
        for i in range(20)
    ]
    campaign = draft([*two_at_the_cap, *others])
    recipients = campaign_recipients_left(campaign)
    # The policies, then one query for each.
    with django_assert_num_queries(3):
        assert recipients_capped(recipients, campaign, NOON + timedelta(hours=3)).count == 2


def test_nobody_is_capped_when_the_campaigns_caps_are_off_or_no_policy_applies(two_at_the_cap):
    now = NOON + timedelta(hours=3)
    off = draft(two_at_the_cap, caps_on=False)
    assert recipients_capped(campaign_recipients_left(off), off, now).policies == 0
    FrequencyCap.objects.update(active=False)
    on = draft(two_at_the_cap)
    forecast = recipients_capped(campaign_recipients_left(on), on, now)
    assert (forecast.count, forecast.policies) == (0, 0)


def test_the_plan_defers_those_at_a_cap_and_waits_for_the_last_of_them(two_at_the_cap):
    campaign = draft(two_at_the_cap)
    plan = campaign_send_plan(campaign=campaign, content=campaign_message(campaign))
    assert plan.capped.count == 2
    assert not plan.capped_skipped
    assert plan.reachable == 3
    # Bob may have his next message 23 hours from now: nothing of the plan ends before.
    assert plan.eta_seconds == timedelta(hours=23).total_seconds()
    left = campaign_time_left_estimate(
        campaign=campaign, progress=campaign_progress(campaign_id=campaign.pk)
    )
    assert left.seconds == timedelta(hours=23).total_seconds()


def test_the_plan_leaves_those_a_cap_skips_out_of_the_reachable(two_at_the_cap):
    campaign = draft(two_at_the_cap, capped_action="skip")
    plan = campaign_send_plan(campaign=campaign, content=campaign_message(campaign))
    assert (plan.capped.count, plan.capped_skipped) == (2, True)
    assert plan.reachable == 1
    assert plan.requests == 1
    assert plan.eta_seconds < 60


def test_a_running_campaigns_time_left_waits_for_its_last_deferred_delivery(two_at_the_cap):
    campaign = sent_to(two_at_the_cap)
    left = campaign_time_left_estimate(
        campaign=campaign, progress=campaign_progress(campaign_id=campaign.pk)
    )
    assert left.capped_until == NOON + timedelta(days=1, hours=2)
    assert left.seconds == timedelta(hours=23).total_seconds()


def test_a_campaigns_capped_deliveries_are_counted_as_deferred_or_skipped(two_at_the_cap):
    deferring = sent_to(two_at_the_cap)
    # Cid's message went with it: all three are at the cap now.
    skipping = sent_to(two_at_the_cap, capped_action="skip")
    deferred = campaign_capped_deliveries(campaign_id=deferring.pk)
    assert (deferred.deferred, deferred.skipped) == (2, 0)
    assert deferred.deferred_until == NOON + timedelta(days=1, hours=2)
    skipped = campaign_capped_deliveries(campaign_id=skipping.pk)
    assert (skipped.deferred, skipped.skipped, skipped.deferred_until) == (0, 3, None)
