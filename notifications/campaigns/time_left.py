"""A campaign's time left: the one estimate every page shows, from the send plan's estimate
at the provider's limits (`campaigns/plan.py`), the pace it really goes at, and the waits of
those outside their send window or deferred by a frequency cap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from notifications.campaigns.capped import campaign_capped_deliveries, capped_of
from notifications.campaigns.people import campaign_people_counts
from notifications.campaigns.plan import (
    campaign_recipients_left,
    channel_limits,
    send_eta_seconds,
)
from notifications.campaigns.quiet_hours import (
    NOBODY_WAITS,
    Waiting,
    recipients_outside_window,
    recipients_per_second,
    waiting_seconds,
)
from notifications.campaigns.selectors import (
    RATE_WINDOW_SECONDS,
    campaign_message,
    campaign_resolved_since,
)
from notifications.models import Campaign, CappedAction

# Below this share of the pace its limits allow, a campaign goes at its own pace (a slow
# provider, many retries): the pace it really goes at is the better guide.
SLOWER_THAN_LIMIT = 0.8
# A pace measured over less time than this says more about start-up than about the provider.
PACE_MIN_SECONDS = 5


@dataclass(frozen=True)
class TimeLeft:
    """How long a campaign still takes, and on what: "limit" (the send plan's estimate),
    "pace" (`per_minute`, measured over the last minute), or "" (nothing left or known); and
    who of what is left waits for their send window (`waiting`), and until when the last of
    those a frequency cap defers waits (`capped_until`): it includes both waits."""

    seconds: float | None
    basis: str = ""
    per_minute: float = 0.0
    waiting: Waiting = NOBODY_WAITS
    capped_until: datetime | None = None


def campaign_time_left_estimate(
    *, campaign: Campaign, progress: Mapping[str, int], now: datetime | None = None
) -> TimeLeft:
    """Time until the campaign has sent what it has left: the one estimate every page shows.

    An ended campaign has none left (0). Otherwise the send plan's estimate (`send_eta_seconds`,
    None when the limits are unknown), unless the pace since its first answer of the last minute
    (measured over `PACE_MIN_SECONDS` at least) is clearly slower: then that pace. Before its
    deliveries exist, what is left is its audience, and those a frequency cap holds now wait
    for it (as counted with its people, `PeopleCounts.at_caps`) or are not sent; after, the
    deliveries a cap deferred wait.
    """
    if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
        return TimeLeft(0.0)
    now = now or timezone.now()
    left = progress["pending"] + progress["sending"]
    capped_until = None
    if campaign.materialised_at is None:
        # As last counted (minutes old at most): counting takes a second at a million.
        counts = campaign_people_counts(campaign=campaign)
        left = counts.reachable
        capped = capped_of(campaign, counts.at_caps)
        if campaign.capped_action == CappedAction.SKIP:
            left -= capped.count
        else:
            capped_until = capped.last_allowed
    else:
        capped_until = campaign_capped_deliveries(campaign_id=campaign.pk).deferred_until
    if not left:
        return TimeLeft(0.0)
    waiting = NOBODY_WAITS
    if campaign.window_on:
        waiting = recipients_outside_window(
            campaign=campaign, recipients=campaign_recipients_left(campaign), now=now
        )
    at_limit = send_eta_seconds(
        channel=campaign.channel,
        content=campaign_message(campaign),
        messages=left,
        campaign=campaign,
    )
    if at_limit is not None and waiting.count:
        # The last to wait for their window go out after it opens, however fast the rest go.
        per_second = recipients_per_second(channel_limits(campaign.channel))
        at_limit = max(at_limit, waiting_seconds(waiting, per_second, now))
    if at_limit is not None and capped_until is not None:
        # Nor do those a cap defers go before it allows them.
        at_limit = max(at_limit, (capped_until - now).total_seconds())
    if campaign.status == Campaign.Status.RUNNING and campaign.started_at:
        since = max(campaign.started_at, now - timedelta(seconds=RATE_WINDOW_SECONDS))
        resolved, first = campaign_resolved_since(campaign_id=campaign.pk, since=since)
        seconds = (now - first).total_seconds() if first else 0.0
        if seconds >= PACE_MIN_SECONDS:
            paced = left * seconds / resolved
            if at_limit is None or at_limit < paced * SLOWER_THAN_LIMIT:
                return TimeLeft(paced, "pace", resolved * 60 / seconds, waiting, capped_until)
    basis = "limit" if at_limit is not None else ""
    return TimeLeft(at_limit, basis, waiting=waiting, capped_until=capped_until)


def campaign_time_left(*, campaign: Campaign, progress: Mapping[str, int]) -> float | None:
    """Seconds of `campaign_time_left_estimate`, for callers that need only the number."""
    return campaign_time_left_estimate(campaign=campaign, progress=progress).seconds
