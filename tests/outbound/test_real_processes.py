"""Real workers deliver outbound events to a receiver that fails for a while, with every
worker SIGKILLed in the middle: each event arrives at least once, signed, in order per
campaign. Two `qcluster` processes, PostgreSQL, Redis, a local provider and receiver."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)
from outbound.models import Message
from outbound.signing import signature_valid
from outbound.tasks import wake
from tests.notifications.sending.test_workers import Clusters, wait_until
from tests.support.recording_server import RecordingServer

pytestmark = [pytest.mark.django_db(transaction=True)]

WATCHED = ["campaign_status", "sent", "failed", "retry_scheduled", "unknown"]
OUTBOUND_ENV = {
    "DEBUG": "True",
    "OUTBOUND_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "OUTBOUND_WEBHOOK_TIMEOUT": "2",
    "OUTBOUND_WEBHOOK_BATCH": "25",
    "OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS": "0.3",
    "OUTBOUND_WEBHOOK_RETRY_MAX_SECONDS": "1",
}


def campaign_of(name: str, count: int, first_address: int) -> Campaign:
    recipients = Recipient.objects.bulk_create(
        Recipient(external_id=f"{name}-{i}", first_name=f"N{i}") for i in range(count)
    )
    Address.objects.bulk_create(
        Address(recipient=r, channel="leadconverter", value=str(first_address + i))
        for i, r in enumerate(recipients)
    )
    audience = Audience.objects.create(name=name)
    AudienceMember.objects.bulk_create(
        AudienceMember(audience=audience, recipient=r) for r in recipients
    )
    template = MessageTemplate.objects.create(name=name, body="Hi {{ first_name }}")
    campaign = Campaign.objects.create(name=name, channel="leadconverter", template=template)
    campaign.audiences.set([audience])
    return campaign


_last_call: dict = {}


def now_and_then(action, every: float = 2.0) -> None:
    """`action()` at most every `every` seconds: as the pump's schedule would, but faster."""
    if time.monotonic() - _last_call.get(action, 0) >= every:
        _last_call[action] = time.monotonic()
        action()


def test_events_reach_a_flaky_receiver_through_killed_workers(
    real_stack, provider_settings, tmp_path, endpoint_on, receiver
):
    endpoint = endpoint_on(
        events=["campaign.status", "delivery.sent", "delivery.failed", "delivery.unknown"]
    )
    spring = campaign_of("spring", 400, 1_000)
    autumn = campaign_of("autumn", 300, 5_000)
    with RecordingServer(latency=0.02) as server:
        provider_settings(server)
        receiver.fail_first = 6
        # Slow until the kill, so work is surely left for the new workers however fast the
        # machine: each stream has one request in flight, and 700 events make 28+ requests.
        receiver.latency = 0.5
        with Clusters(server, tmp_path, **OUTBOUND_ENV) as clusters:
            campaign_dispatch(campaign_id=spring.pk)
            campaign_dispatch(campaign_id=autumn.pk)
            wait_until(
                lambda: now_and_then(wake) or len(receiver.accepted()) >= 3,
                "the receiver to take a few requests after failing",
                clusters=clusters,
                seconds=120,
            )
            assert any(r.status == 500 for r in receiver.received)
            for index in range(len(clusters.processes)):
                clusters.kill(index)
            killed_at = time.time()
            assert Message.objects.exclude(status="delivered").exists(), "killed too late"
            receiver.latency = 0
            clusters.start(2)

            def all_arrived() -> bool:
                now_and_then(wake)
                done = Campaign.objects.filter(
                    pk__in=[spring.pk, autumn.pk], status="completed"
                ).count()
                if done < 2:
                    return False
                # Completed is not enough: the pump may not have read their last events yet.
                watched = DeliveryEvent.objects.filter(
                    campaign__in=[spring, autumn], type__in=WATCHED
                ).values_list("id", flat=True)
                taken = {e["id"] for r in receiver.accepted() for e in r.events}
                return set(watched) <= taken

            wait_until(all_arrived, "every event to be delivered", clusters=clusters, seconds=240)

    expected = defaultdict(list)
    for event_id, campaign_id in (
        DeliveryEvent.objects.filter(campaign__in=[spring, autumn], type__in=WATCHED)
        .order_by("id")
        .values_list("id", "campaign_id")
    ):
        expected[campaign_id].append(event_id)
    assert len(expected[spring.pk]) >= 402  # running, 400 outcomes, completed

    first_seen: dict[int, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for request in receiver.received:
        assert signature_valid(endpoint.secret, request.headers, request.body, now=request.at)
        if request.status != 200:
            continue
        for event in request.events:
            if event["id"] not in seen:
                seen.add(event["id"])
                first_seen[event["campaign"]["id"]].append(event["id"])
    for campaign_id, ids in expected.items():
        assert first_seen[campaign_id] == ids, f"campaign {campaign_id}: lost or out of order"
    # Requests went on after the kill, by the new workers.
    assert any(r.at > killed_at and r.status == 200 for r in receiver.received)
