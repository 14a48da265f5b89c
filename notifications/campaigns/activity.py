"""What a dispatched campaign is doing right now, as one state the pages can say in words.

The states are told apart by what really happens: deliveries being written (`PREPARING`),
requests under way or just answered (`SENDING`), a turn awaited under the provider's rate
(`WAITING`, with the seconds to the next one from the shared limiter), a hold the provider
asked for (`HELD`), retries not due yet (`RETRYING`), no worker seen for a while
(`NO_WORKER`), and the campaign's own statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from notifications.campaigns.selectors import (
    campaign_has_due,
    campaign_in_flight,
    campaign_resolved_recently,
)
from notifications.models import Campaign
from notifications.providers.exceptions import ProviderError
from notifications.providers.registry import build_provider
from notifications.sending.limiter import get_limiter

# Answers within this many seconds mean requests are going out now.
SENDING_WINDOW_SECONDS = 5
# A wait for the next turn shorter than this is the rate's own rhythm, not worth a sentence.
NOTABLE_WAIT_SECONDS = 1.0


class State(StrEnum):
    SCHEDULED = "scheduled"
    STARTING = "starting"
    PREPARING = "preparing"
    SENDING = "sending"
    WAITING = "waiting"
    HELD = "held"
    RETRYING = "retrying"
    FINISHING = "finishing"
    NO_WORKER = "no_worker"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DRAFT = "draft"


@dataclass(frozen=True)
class Activity:
    """A campaign's state now, with what each state needs to be said: the seconds to the next
    request (`WAITING`), the end and reason of a hold (`HELD`), the requests under way."""

    state: State
    in_flight: int = 0
    wait_seconds: float = 0.0
    hold_until: datetime | None = None
    hold_reason: str = ""


def worker_alive(campaign: Campaign, now: datetime) -> bool:
    """Whether a worker has shown signs of life for the campaign recently, or it was set
    going so recently that none could have picked it up yet."""
    recent = now - timedelta(seconds=settings.VESTNIK_WORKER_STALE_SECONDS)
    seen = campaign.worker_seen_at or campaign.started_at or campaign.dispatched_at
    return seen is not None and seen >= recent


def campaign_activity(*, campaign: Campaign, left: int, now: datetime | None = None) -> Activity:
    """The state of `campaign` now; `left` is its deliveries pending or being sent."""
    now = now or timezone.now()
    status = campaign.status
    if status in (Campaign.Status.DRAFT, Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
        return Activity(State(status))
    if status == Campaign.Status.PAUSED:
        return Activity(State.PAUSED)
    if status == Campaign.Status.SCHEDULED:
        if campaign.scheduled_at and campaign.scheduled_at > now:
            return Activity(State.SCHEDULED)
        return Activity(State.STARTING)
    if not worker_alive(campaign, now):
        return Activity(State.NO_WORKER)
    if campaign.materialised_at is None:
        return Activity(State.PREPARING)
    if not left:
        return Activity(State.FINISHING)
    in_flight = campaign_in_flight(campaign_id=campaign.pk)
    hold_until, hold_reason, wait = _limiter_wait(campaign.channel)
    if hold_until is not None:
        return Activity(State.HELD, in_flight, wait, hold_until, hold_reason)
    if in_flight:
        return Activity(State.SENDING, in_flight)
    if not campaign_has_due(campaign_id=campaign.pk, now=now):
        return Activity(State.RETRYING)
    if wait >= NOTABLE_WAIT_SECONDS:
        return Activity(State.WAITING, wait_seconds=wait)
    if campaign_resolved_recently(campaign_id=campaign.pk, seconds=SENDING_WINDOW_SECONDS, now=now):
        return Activity(State.SENDING)
    return Activity(State.WAITING, wait_seconds=wait)


def _limiter_wait(channel: str) -> tuple[datetime | None, str, float]:
    """(end of a hold in force or None, its reason, seconds to the next turn) for the
    channel's provider account, read from the shared limiter without reserving anything."""
    try:
        provider = build_provider(channel)
    except (ProviderError, ValueError):
        return None, "", 0.0
    limiter = get_limiter()
    if not limiter.enabled:
        return None, "", 0.0
    state = limiter.state(f"{channel}:{provider.account}")
    wait = state.wait_for_turn(provider.limits, margin=limiter.margin)
    if state.hold_left > 0:
        until = timezone.now() + timedelta(seconds=state.hold_left)
        return until, state.hold_reason, wait
    return None, "", wait
