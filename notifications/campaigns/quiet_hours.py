"""Quiet hours while sending: who waits for their send window, until when, and how a crowd
waiting for the same opening is let out at the pace the provider allows.

A delivery outside its recipient's window stays `pending` with `next_attempt_at` at the
window's opening, the field retries already use to say "not before", so claims, the tick and
completion need nothing new: a campaign whose pending rows all wait is running, and the tick
wakes a sender when the first is due. A wait is not an attempt and writes no event.

The opening is computed once per zone (`zone_openings`), never per person. People held to the
same opening are spread over the time the provider's limit needs to send them: the n-th of them
(from 0) is due `n / recipients_per_second` after the opening, so a window opening for 100,000
does not make them all due in one second and hold every other campaign on the provider.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.db.models import Count, QuerySet
from django.utils import timezone

from notifications.campaigns.sending_rules import recipients_default_zone, send_window_of
from notifications.campaigns.windows import SendWindow, window_opening, zone_named
from notifications.models import Campaign, Recipient
from notifications.providers.limits import Limits


def zone_openings(
    window: SendWindow, zone_names: Iterable[str], now: datetime, *, default: tzinfo
) -> dict[str, datetime]:
    """For each zone name (empty: `default`, the site's zone for recipients who have none,
    `recipients_default_zone`) whose window is closed at `now`, the window's next opening, in
    UTC; zones inside their window are left out."""
    openings = {}
    for name in set(zone_names):
        opening = window_opening(window, zone_named(name, default), now)
        if opening > now:
            openings[name] = opening
    return openings


def recipients_per_second(limits: Limits | None) -> float | None:
    """How many recipients a provider's `limits` let through per second, or None when they
    are unknown (then nobody is spread)."""
    if limits is None:
        return None
    return limits.batch_size * limits.rate_count / limits.rate_period


def spread_offset(position: int, per_second: float | None) -> timedelta:
    """How long after the opening the `position`-th (from 0) of those waiting for it is due."""
    if not per_second:
        return timedelta(0)
    return timedelta(seconds=position / per_second)


def spread_waits(
    zones: Mapping[int, str],
    openings: Mapping[str, datetime],
    per_second: float | None,
    held_before: Counter[datetime],
) -> dict[int, datetime]:
    """When each delivery (id -> its recipient's zone name) outside its window is due: its
    zone's opening, after the `held_before` already waiting for that opening and those before
    it in id order. Counts the new ones into `held_before`."""
    due = {}
    for pk in sorted(zones):
        opening = openings.get(zones[pk])
        if opening is not None:
            due[pk] = opening + spread_offset(held_before[opening], per_second)
            held_before[opening] += 1
    return due


@dataclass(frozen=True)
class Waiting:
    """Recipients outside a campaign's send window now: how many, the zones they are in, and
    when the first of those zones opens."""

    count: int
    zones: tuple[str, ...] = ()
    first_opening: datetime | None = None
    openings: tuple[tuple[datetime, int], ...] = ()


NOBODY_WAITS = Waiting(0)


def recipients_outside_window(
    *, campaign: Campaign, recipients: QuerySet[Recipient], now: datetime | None = None
) -> Waiting:
    """Who of `recipients` is outside `campaign`'s window now (nobody when it has none): one
    grouped count by zone, so the send plan, the desk and the delivery list's filter, which
    all ask here, agree."""
    window = send_window_of(campaign)
    if window is None:
        return NOBODY_WAITS
    by_zone = dict(
        recipients.order_by()
        .values_list("timezone")
        .annotate(n=Count("id"))
        .values_list("timezone", "n")
    )
    openings = zone_openings(
        window, by_zone, now or timezone.now(), default=recipients_default_zone()
    )
    if not openings:
        return NOBODY_WAITS
    per_opening: Counter[datetime] = Counter()
    for name, opening in openings.items():
        per_opening[opening] += by_zone[name]
    return Waiting(
        count=sum(per_opening.values()),
        zones=tuple(sorted(openings)),
        first_opening=min(per_opening),
        openings=tuple(sorted(per_opening.items())),
    )


def waiting_seconds(waiting: Waiting, per_second: float | None, now: datetime) -> float:
    """Seconds from `now` until the last of those waiting for their window is sent: each
    opening, plus the time the provider needs for those let out at it."""
    return max(
        (opening - now + spread_offset(count, per_second)).total_seconds()
        for opening, count in waiting.openings
    )
