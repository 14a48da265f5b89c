"""Claim leases: short, renewed while the sender works, and a dead sender's rows come back.

The send loop runs for real against `responses`, which answers LeadConverter's batch endpoint as
documented; the limiter is the real one of the test run (the database, or Redis with REDIS_URL).
"""

import time
from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from django_q.models import Schedule

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, Delivery
from notifications.providers.registry import build_provider
from notifications.sending.claims import begun_lease_seconds, deliveries_claim, deliveries_start
from notifications.sending.leases import deliveries_expire_leases, deliveries_renew
from notifications.sending.limiter import get_limiter
from notifications.sending.loop import campaign_send
from notifications.sending.tasks import tick
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

LEADCONVERTER_URL = "https://leadconverter.test/api/v1"
LEADCONVERTER_SEND = f"{LEADCONVERTER_URL}/lc-token/broadcasting.sendMessageBatch"
OK = (200, {}, '{"result": "ok"}')


@pytest.fixture(autouse=True)
def leadconverter(settings):
    settings.LEADCONVERTER_API_URL = LEADCONVERTER_URL
    settings.LEADCONVERTER_TOKEN = "lc-token"
    settings.LEADCONVERTER_RATE = "1000/s"
    settings.LEADCONVERTER_BURST = 1000
    # One delivery per request, so one claim spans several requests.
    settings.LEADCONVERTER_BATCH_SIZE = 1


def running_campaign(count: int) -> Campaign:
    recipients = [
        make_recipient(external_id=f"l-{i}", addresses={"leadconverter": str(1000 + i)})
        for i in range(count)
    ]
    campaign = make_campaign(
        make_audience(*recipients), channel="leadconverter", template=make_template()
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    return campaign


def send(campaign: Campaign, budget: float = 30):
    return campaign_send(
        campaign_id=campaign.pk, provider=build_provider("leadconverter"), budget_seconds=budget
    )


def leases(campaign: Campaign, *, begun: bool) -> list[float]:
    """Seconds left on the leases of the campaign's claimed rows, begun or not."""
    now = timezone.now()
    return [
        (expires - now).total_seconds()
        for expires in Delivery.objects.filter(
            campaign=campaign, status="sending", request_started_at__isnull=not begun
        ).values_list("lease_expires_at", flat=True)
    ]


def provider_hold(seconds: float) -> None:
    provider = build_provider("leadconverter")
    get_limiter().hold(
        f"{provider.channel}:{provider.account}", until=time.time() + seconds, reason="test"
    )


def test_a_claim_is_held_for_the_lease_setting_not_for_the_whole_task(mocked, settings):
    settings.VESTNIK_CLAIM_LEASE_SECONDS = 30
    campaign = running_campaign(3)
    seen = []

    def answer(request):
        seen.append(leases(campaign, begun=False))
        return OK

    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=answer)
    send(campaign, budget=200)
    waiting = seen[0]
    assert len(waiting) == 2
    assert all(seconds <= 30 for seconds in waiting)


def test_a_begun_request_holds_its_rows_for_the_longest_it_may_take_plus_a_lease(mocked, settings):
    settings.VESTNIK_CLAIM_LEASE_SECONDS = 30
    settings.PROVIDER_CONNECT_TIMEOUT = 5
    settings.PROVIDER_READ_TIMEOUT = 30
    campaign = running_campaign(1)
    seen = []

    def answer(request):
        seen.extend(leases(campaign, begun=True))
        return OK

    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=answer)
    send(campaign)
    assert begun_lease_seconds() == 65
    assert len(seen) == 1
    assert 64 <= seen[0] <= 65


def test_an_answer_slower_than_the_lease_is_recorded_not_turned_unknown(mocked, settings):
    settings.VESTNIK_CLAIM_LEASE_SECONDS = 0.3
    settings.PROVIDER_READ_TIMEOUT = 2
    campaign = running_campaign(3)
    swept_mid_request = []

    def slow_answer(request):
        time.sleep(0.6)
        # The tick, running while the answer is on its way.
        swept_mid_request.append(deliveries_expire_leases())
        return OK

    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=slow_answer)
    send(campaign)
    assert all(not swept.get("unknown") for swept in swept_mid_request)
    assert len(mocked.calls) == 3
    assert set(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "sent"
    }


def test_a_sender_waiting_out_a_providers_hold_longer_than_its_lease_keeps_its_claim(
    mocked, settings
):
    settings.VESTNIK_CLAIM_LEASE_SECONDS = 0.6
    campaign = running_campaign(3)
    swept_after_the_wait = []

    def answer(request):
        if not swept_after_the_wait:
            swept_after_the_wait.append(deliveries_expire_leases())
        return OK

    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=answer)
    provider_hold(2)
    started = time.monotonic()
    send(campaign)
    assert time.monotonic() - started >= 1.9
    assert swept_after_the_wait == [{}]
    assert len(mocked.calls) == 3


def test_a_renewal_extends_only_rows_whose_request_has_not_begun(settings):
    campaign = running_campaign(2)
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=1)
    deliveries_start(campaign_id=campaign.pk, token=token, ids=[claimed[0].id])
    begun_before = leases(campaign, begun=True)
    assert deliveries_renew(campaign_id=campaign.pk, token=token, lease_seconds=20) == 1
    assert 19 <= leases(campaign, begun=False)[0] <= 20
    assert leases(campaign, begun=True)[0] == pytest.approx(begun_before[0], abs=0.5)


def test_a_renewal_does_not_revive_a_claim_the_sweep_took_back():
    campaign = running_campaign(2)
    token, _ = deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=1)
    Delivery.objects.filter(campaign=campaign).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert deliveries_expire_leases()["released"] == 2
    assert deliveries_renew(campaign_id=campaign.pk, token=token, lease_seconds=20) == 0
    assert set(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "pending"
    }


def test_a_sender_takes_back_a_dead_senders_rows_without_waiting_for_the_tick(mocked):
    campaign = running_campaign(4)
    dead_token, dead_claim = deliveries_claim(campaign_id=campaign.pk, limit=3, lease_seconds=60)
    in_flight = dead_claim[0].id
    deliveries_start(campaign_id=campaign.pk, token=dead_token, ids=[in_flight])
    Delivery.objects.filter(claim_token=dead_token).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=lambda request: OK)
    send(campaign)
    statuses = dict(Delivery.objects.filter(campaign=campaign).values_list("id", "status"))
    assert statuses.pop(in_flight) == "unknown"
    assert set(statuses.values()) == {"sent"}
    assert len(mocked.calls) == 3


def test_the_tick_wakes_senders_for_a_campaign_whose_claim_ran_out_though_seen_lately(
    django_capture_on_commit_callbacks,
):
    campaign = running_campaign(2)
    token, _ = deliveries_claim(campaign_id=campaign.pk, limit=1, lease_seconds=60)
    Campaign.objects.filter(pk=campaign.pk).update(worker_seen_at=timezone.now())
    Delivery.objects.filter(claim_token=token).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks():
        result = tick()
    assert result["leases"]["released"] == 1
    assert result["woken"] == [campaign.pk]


def test_a_sender_with_nothing_left_waits_out_another_claim_and_sends_its_rows_if_it_died(
    mocked,
):
    campaign = running_campaign(2)
    deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=1)
    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=lambda request: OK)
    started = time.monotonic()
    report = send(campaign)
    assert time.monotonic() - started >= 0.9
    assert report.stopped_because == "nothing is due"
    assert len(mocked.calls) == 2
    assert set(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "sent"
    }


def test_while_claims_are_out_the_tick_asks_to_run_again_at_the_schedulers_next_look():
    campaign = running_campaign(1)
    deliveries_claim(campaign_id=campaign.pk, limit=1, lease_seconds=60)
    schedule = Schedule.objects.filter(name="vestnik-tick")
    schedule.update(next_run=timezone.now() + timedelta(minutes=1))
    tick()
    assert schedule.get().next_run <= timezone.now()


def test_with_no_claim_out_the_tick_keeps_its_minute():
    running_campaign(1)
    schedule = Schedule.objects.filter(name="vestnik-tick")
    later = timezone.now() + timedelta(minutes=1)
    schedule.update(next_run=later)
    tick()
    assert schedule.get().next_run == later
