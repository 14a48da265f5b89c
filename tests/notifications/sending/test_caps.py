"""Frequency caps in the send loop, on the real database with a frozen clock: a recipient who
has had their messages waits until the oldest ages out of the rolling period, or is skipped;
a campaign with caps off goes, and counts; test sends and transactional messages do neither."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from notifications.campaigns.caps import counted_sends_backfill, counted_sends_purge
from notifications.campaigns.direct import campaign_send_test, message_send
from notifications.models import Campaign, CountedSend, Delivery, DeliveryEvent, FrequencyCap
from notifications.reasons import reason_code, reason_text
from notifications.recipients.services import recipient_delete
from notifications.sending.tasks import tick
from tests.notifications.flows import (
    LEADCONVERTER_SEND,
    counted_truth,
    dispatched,
    people,
    send_all,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]

# Noon in Moscow on a Monday.
NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def provider_ok(mocked):
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    return mocked


def cap(limit: int, period: str = "day", channel: str = "") -> FrequencyCap:
    return FrequencyCap.objects.create(limit=limit, period=period, channel=channel)


def addresses_sent(mocked) -> list[str]:
    """The LeadConverter addresses of every request so far, in order."""
    return [
        str(item["subscriber_id"])
        for call in mocked.calls
        for item in json.loads(call.request.body)["batch"]
    ]


def sent_campaign(recipients, **fields) -> Campaign:
    campaign = dispatched("leadconverter", recipients)
    if fields:
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        campaign.refresh_from_db()
    send_all(campaign)
    return campaign


def test_a_recipient_at_the_cap_waits_until_the_counted_message_ages_out(frozen, provider_ok):
    frozen(NOON)
    cap(1, "day")
    ann, bob, cid = people(3)
    sent_campaign([ann])
    frozen(NOON + timedelta(hours=1))
    second = sent_campaign([ann, bob, cid])
    assert statuses(second) == {"sent": 2, "pending": 1} == counted_truth(second)
    assert addresses_sent(provider_ok) == ["1000", "1001", "1002"]
    held = Delivery.objects.get(campaign=second, status="pending")
    assert held.recipient == ann
    # A rolling day: 24 hours after the message that fills the cap went, not midnight.
    assert held.next_attempt_at == NOON + timedelta(days=1)
    assert held.attempts == 0
    assert reason_code(held.error) == "capped_deferred"
    assert reason_text(held.error) == "Deferred by the frequency cap: 1 a day across all channels."
    assert not DeliveryEvent.objects.filter(delivery=held).exists()

    frozen(NOON + timedelta(days=1, seconds=1))
    assert send_all(second).requests == 1
    assert statuses(second) == {"sent": 3} == counted_truth(second)
    held.refresh_from_db()
    assert (held.attempts, held.error) == (1, "")


def test_with_skip_a_capped_recipient_is_skipped_with_the_reason(frozen, provider_ok):
    frozen(NOON)
    cap(1, "day")
    ann, bob = people(2)
    sent_campaign([ann])
    second = sent_campaign([ann, bob], capped_action="skip")
    assert statuses(second) == {"sent": 1, "skipped": 1} == counted_truth(second)
    skipped = Delivery.objects.get(campaign=second, status="skipped")
    assert skipped.recipient == ann
    assert skipped.attempts == 0
    assert (
        reason_text(skipped.error) == "Skipped by the frequency cap: 1 a day across all channels."
    )
    event = DeliveryEvent.objects.get(delivery=skipped)
    assert (event.type, event.detail) == ("skipped", skipped.error)


def test_the_strictest_of_several_caps_decides_and_the_latest_opening_wins(frozen, provider_ok):
    # Two a day, three a week: after three messages on three days, the week holds until the
    # first of them is seven days old, though the day would allow one now.
    cap(2, "day")
    cap(3, "week")
    (ann,) = people(1)
    for day in range(3):
        frozen(NOON + timedelta(days=day))
        sent_campaign([ann])
    frozen(NOON + timedelta(days=3))
    fourth = sent_campaign([ann])
    held = Delivery.objects.get(campaign=fourth)
    assert held.status == "pending"
    assert held.next_attempt_at == NOON + timedelta(days=7)
    assert reason_text(held.error) == (
        "Deferred by the frequency cap: 3 a week across all channels."
    )


def test_a_channel_cap_counts_only_that_channels_messages(frozen, provider_ok):
    frozen(NOON)
    cap(1, "day", channel="imshop")
    (ann,) = people(1)
    sent_campaign([ann])
    # LeadConverter is not capped, and its messages do not count against Imshop's cap.
    assert statuses(sent_campaign([ann])) == {"sent": 1}


def test_an_inactive_cap_holds_nobody(frozen, provider_ok):
    frozen(NOON)
    FrequencyCap.objects.create(limit=1, period="day", active=False)
    (ann,) = people(1)
    sent_campaign([ann])
    assert statuses(sent_campaign([ann])) == {"sent": 1}


def test_a_campaign_with_caps_off_sends_to_the_capped_and_counts_against_the_rest(
    frozen, provider_ok
):
    frozen(NOON)
    cap(1, "day")
    (ann,) = people(1)
    sent_campaign([ann])
    frozen(NOON + timedelta(hours=1))
    override = sent_campaign([ann], caps_on=False)
    assert statuses(override) == {"sent": 1}
    assert CountedSend.objects.filter(recipient=ann).count() == 2
    # The override's message counts: after the first ages out, the second still fills the cap.
    frozen(NOON + timedelta(days=1, seconds=1))
    third = sent_campaign([ann])
    assert statuses(third) == {"pending": 1}


def test_test_sends_and_transactional_messages_are_neither_capped_nor_counted(frozen, provider_ok):
    frozen(NOON)
    cap(1, "day")
    (ann,) = people(1)
    first = sent_campaign([ann])
    message = message_send(
        channel="leadconverter", external_ids=[ann.external_id], content={"body": "Your code"}
    )
    test = campaign_send_test(campaign_id=first.pk, recipient_ids=[ann.pk])
    for campaign in (message, test):
        send_all(campaign)
        assert statuses(campaign) == {"sent": 1}
    assert CountedSend.objects.filter(recipient=ann).count() == 1


def test_a_failed_message_does_not_count(frozen, mocked):
    frozen(NOON)
    cap(1, "day")
    (ann,) = people(1)
    mocked.post(LEADCONVERTER_SEND, status=400, json={"error": "bad client"})
    failed = sent_campaign([ann])
    assert statuses(failed) == {"failed": 1}
    mocked.replace("POST", LEADCONVERTER_SEND, json={"result": "ok"})
    assert statuses(sent_campaign([ann])) == {"sent": 1}


def test_counted_sends_older_than_a_week_are_purged(frozen, provider_ok):
    frozen(NOON)
    cap(10, "week")
    (ann,) = people(1)
    sent_campaign([ann])
    frozen(NOON + timedelta(days=6))
    sent_campaign([ann])
    assert counted_sends_purge(now=NOON + timedelta(days=7, seconds=1), batch=1) == 1
    assert CountedSend.objects.count() == 1


def test_the_tick_purges_counted_sends_older_than_a_week(frozen, provider_ok):
    frozen(NOON)
    cap(10, "week")
    (ann,) = people(1)
    sent_campaign([ann])
    frozen(NOON + timedelta(days=6))
    sent_campaign([ann])
    frozen(NOON + timedelta(days=7, seconds=1))
    assert tick()["counted_sends_purged"] == 1
    assert CountedSend.objects.count() == 1


def test_a_recipient_with_counted_sends_can_be_deleted(frozen, provider_ok):
    frozen(NOON)
    cap(10, "week")
    (ann,) = people(1)
    sent_campaign([ann])
    recipient_delete(recipient=ann)
    assert not CountedSend.objects.exists()
    assert not Delivery.objects.exists()


def test_without_a_policy_nothing_is_counted(frozen, provider_ok):
    frozen(NOON)
    cap(1, "day", channel="imshop")
    (ann,) = people(1)
    sent_campaign([ann])
    # No policy covers LeadConverter: its messages cost no count.
    assert not CountedSend.objects.exists()


def test_a_policy_made_later_counts_what_went_before_it(frozen, provider_ok):
    frozen(NOON)
    ann, bob = people(2)
    sent_campaign([ann])
    frozen(NOON + timedelta(hours=2))
    policy = cap(1, "day")
    assert counted_sends_backfill(now=NOON + timedelta(hours=2)) == 1
    # Counted once only, however often it is asked.
    assert counted_sends_backfill(now=NOON + timedelta(hours=2)) == 0
    second = sent_campaign([ann, bob])
    assert statuses(second) == {"sent": 1, "pending": 1}
    assert Delivery.objects.get(campaign=second, status="pending").recipient == ann
    assert policy.describe() == "1 a day across all channels"


def test_a_backfill_leaves_out_what_is_older_than_a_week_and_other_channels(frozen, provider_ok):
    frozen(NOON)
    (ann,) = people(1)
    sent_campaign([ann])
    assert counted_sends_backfill(channel="imshop", now=NOON) == 0
    assert counted_sends_backfill(now=NOON + timedelta(days=7, seconds=1)) == 0
    assert counted_sends_backfill(channel="leadconverter", now=NOON) == 1
