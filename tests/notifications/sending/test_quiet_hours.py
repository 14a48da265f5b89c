"""Quiet hours in the send loop: a window that closes while a campaign sends holds the rest
until it opens again, without an attempt or an event, and the campaign waits, running."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Min
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_complete_if_done, campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, Delivery, DeliveryEvent, Recipient
from notifications.sending import loop
from notifications.sending.tasks import tick
from tests.factories import DAYTIME_WINDOW, make_audience, make_campaign
from tests.notifications.flows import (
    LEADCONVERTER_SEND,
    counted_truth,
    dispatched,
    people,
    send_all,
    statuses,
)
from tests.notifications.sending.test_workers import (  # noqa: F401 - fixtures used by name
    Clusters,
    campaign_for,
    finished,
    provider_settings,
    real_stack,
    wait_until,
)
from tests.support.recording_server import RecordingServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]

# Ten seconds before the window closes at 21:00 in Moscow; it opens again at 10:00 (07:00 UTC).
BEFORE_CLOSING = datetime(2026, 12, 7, 17, 59, 50, tzinfo=UTC)
AFTER_CLOSING = datetime(2026, 12, 7, 18, 0, 10, tzinfo=UTC)
OPENING = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)


@pytest.fixture
def closing_campaign(frozen, mocked, monkeypatch, settings):
    """30 people in Moscow, claimed 10 at a time; the window closes during the first request."""
    frozen(BEFORE_CLOSING)
    monkeypatch.setattr(loop, "MAX_CLAIM", 10)
    settings.LEADCONVERTER_BATCH_SIZE = "10"
    recipients = people(30, timezone="Europe/Moscow")
    campaign = make_campaign(
        make_audience(*recipients),
        channel="leadconverter",
        **DAYTIME_WINDOW,
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)

    def answer(request):
        if len(mocked.calls) == 0:
            frozen(AFTER_CLOSING)
        return 200, {}, '{"result": "ok"}'

    mocked.add_callback("POST", LEADCONVERTER_SEND, callback=answer)
    return campaign


def test_a_window_closing_mid_campaign_gives_the_rest_back_until_it_opens(closing_campaign):
    campaign = closing_campaign
    report = send_all(campaign)
    assert report.requests == 1
    assert report.stopped_because == "nothing is due"
    assert statuses(campaign) == {"sent": 10, "pending": 20} == counted_truth(campaign)
    waiting = Delivery.objects.filter(campaign=campaign, status="pending")
    assert {d.attempts for d in waiting} == {0}
    assert all(OPENING <= d.next_attempt_at < OPENING + timedelta(seconds=1) for d in waiting)
    assert not DeliveryEvent.objects.filter(delivery__in=waiting).exists()
    assert not campaign_complete_if_done(campaign_id=campaign.pk)


def test_a_campaign_waiting_for_its_window_is_woken_by_the_tick_when_it_opens(
    closing_campaign, frozen
):
    campaign = closing_campaign
    send_all(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(worker_seen_at=None)
    assert campaign.pk not in tick()["woken"]
    frozen(OPENING + timedelta(minutes=1))
    assert campaign.pk in tick()["woken"]


def test_a_campaign_held_by_its_window_finishes_after_the_opening(closing_campaign, frozen):
    campaign = closing_campaign
    send_all(campaign)
    frozen(OPENING + timedelta(minutes=1))
    assert send_all(campaign).requests == 2
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    assert statuses(campaign) == {"sent": 30} == counted_truth(campaign)
    assert set(Delivery.objects.filter(campaign=campaign).values_list("attempts", flat=True)) == {1}


def test_a_sender_waits_for_what_comes_due_in_a_moment_instead_of_leaving_it_to_the_tick(mocked):
    campaign = dispatched("leadconverter", people(2))
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    later = Delivery.objects.filter(campaign=campaign).order_by("id").last()
    later.next_attempt_at = timezone.now() + timedelta(seconds=0.5)
    later.save()
    report = send_all(campaign)
    assert report.requests == 2
    assert statuses(campaign) == {"sent": 2}


@pytest.mark.django_db(transaction=True)
def test_two_real_workers_send_a_held_campaign_once_each_after_its_window_opens(
    real_stack,  # noqa: F811 - the fixture imported above
    provider_settings,  # noqa: F811
    tmp_path,
):
    with RecordingServer(latency=0.01) as server:
        provider_settings(server)
        campaign = campaign_for(2_000)
        Recipient.objects.filter(external_id__startswith="w-").update(timezone="UTC")
        opening = (timezone.now() + timedelta(seconds=15)).replace(microsecond=0)
        campaign.window_on = True
        campaign.window_start = opening.time()
        campaign.window_end = (opening + timedelta(hours=1)).time()
        campaign.save()
        with Clusters(server, tmp_path) as clusters:
            campaign_dispatch(campaign_id=campaign.pk)
            wait_until(
                lambda: Campaign.objects.get(pk=campaign.pk).materialised_at is not None,
                "the campaign to be materialised",
                clusters=clusters,
            )
            assert not server.addresses()
            wait_until(lambda: finished(campaign), "the campaign to complete", clusters=clusters)
    received = Counter(server.addresses())
    assert campaign.status == "completed"
    assert len(received) == 2_000
    assert max(received.values()) == 1
    first_sent = Delivery.objects.filter(campaign=campaign).aggregate(first=Min("sent_at"))
    assert first_sent["first"] >= opening
    assert set(Delivery.objects.filter(campaign=campaign).values_list("attempts", flat=True)) == {1}
