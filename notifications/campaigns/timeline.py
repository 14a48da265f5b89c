"""A campaign's sends and events over time, in buckets of a minute, an hour or a day.

Events are aggregated in one grouped query over the `(campaign, occurred_at)` index, sends
(which have no event of their own) in one over the deliveries' `(campaign, sent_at)` index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count
from django.db.models.functions import Substr, Trunc
from django.utils import timezone

from notifications.campaigns.kept import campaign_kept
from notifications.campaigns.selectors import OUTCOME_EVENTS
from notifications.models import (
    Campaign,
    Delivery,
    DeliveryEvent,
)

TIMELINE_TYPES = (
    *OUTCOME_EVENTS,
    DeliveryEvent.Type.SMS_SENT,
    DeliveryEvent.Type.SMS_LOST,
    DeliveryEvent.Type.SMS_CLICK,
)


@dataclass(frozen=True)
class Timeline:
    """Events of a campaign per time bucket: `counts[bucket_start][type]`."""

    unit: str
    buckets: list[datetime]
    counts: dict[datetime, dict[str, int]]

    def series(self, event_type: str) -> list[int]:
        return [self.counts.get(bucket, {}).get(event_type, 0) for bucket in self.buckets]

    def total(self, event_type: str) -> int:
        """Events of the type in all, including any beyond the buckets drawn."""
        return sum(by_type.get(event_type, 0) for by_type in self.counts.values())


def timeline_unit(start: datetime, end: datetime) -> str:
    """Minutes for a campaign of up to three hours, hours up to a week, else days."""
    span = end - start
    if span <= timedelta(hours=3):
        return "minute"
    if span <= timedelta(days=7):
        return "hour"
    return "day"


_UNIT_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def campaign_timeline(*, campaign: Campaign, now: datetime | None = None) -> Timeline | None:
    """Sends and SMS events per minute, hour or day: one grouped query, None without events.

    The span comes from the campaign's own times, so the unit is chosen before the query.
    """
    now = now or timezone.now()
    start = campaign.started_at or campaign.dispatched_at or campaign.created_at
    end = campaign.finished_at or now
    unit = timeline_unit(start, max(start, end))
    counts = campaign_event_buckets(campaign_id=campaign.pk, unit=unit, types=TIMELINE_TYPES)
    if not counts:
        return None
    step = _UNIT_STEP[unit]
    first, last = min(counts), max(counts)
    buckets, bucket = [], first
    # Empty buckets between the first and the last event are drawn as gaps, not skipped.
    while bucket <= last and len(buckets) < MAX_TIMELINE_BUCKETS:
        buckets.append(bucket)
        bucket += step
    return Timeline(unit=unit, buckets=buckets, counts=counts)


MAX_TIMELINE_BUCKETS = 400


def campaign_event_buckets(
    *, campaign_id: int, unit: str, types: Iterable[str]
) -> dict[datetime, dict[str, int]]:
    """The campaign's events of `types` per bucket of `unit` that has any: `[start][type]`,
    from its events, or from what was kept of them (`kept.campaign_kept`). A unit finer than
    the campaign's own was not kept: none is asked, the comparison's unit being the longest
    campaign's."""
    kept = campaign_kept(campaign_id=campaign_id)
    if kept is None:
        return event_buckets_count(campaign_id=campaign_id, unit=unit, types=types)
    wanted = set(types)
    counts: dict[datetime, dict[str, int]] = defaultdict(dict)
    for bucket, event_type, n in kept.timeline.get(unit, []):
        if event_type in wanted:
            counts[datetime.fromisoformat(bucket)][event_type] = n
    return dict(counts)


def event_buckets_count(
    *, campaign_id: int, unit: str, types: Iterable[str]
) -> dict[datetime, dict[str, int]]:
    """`campaign_event_buckets` counted from the rows: one grouped query over the events'
    `(campaign, occurred_at)` index, and for "sent" one over the deliveries' `(campaign,
    sent_at)` index (a message that went has no event of its own; an old one's is not read)."""
    wanted = set(types)
    counts: dict[datetime, dict[str, int]] = defaultdict(dict)
    logged = wanted - {DeliveryEvent.Type.SENT}
    if logged:
        rows = (
            DeliveryEvent.objects.filter(campaign_id=campaign_id, type__in=sorted(logged))
            .annotate(bucket=_bucket("occurred_at", unit))
            .values("bucket", "type")
            .annotate(n=Count("*"))
            .values_list("bucket", "type", "n")
            .order_by()
        )
        for bucket, event_type, n in rows:
            counts[_bucket_start(bucket, unit)][event_type] = n
    if DeliveryEvent.Type.SENT in wanted:
        sent = (
            Delivery.objects.filter(campaign_id=campaign_id, sent_at__isnull=False)
            .annotate(bucket=_bucket("sent_at", unit))
            .values("bucket")
            .annotate(n=Count("*"))
            .values_list("bucket", "n")
            .order_by()
        )
        for bucket, n in sent:
            counts[_bucket_start(bucket, unit)][DeliveryEvent.Type.SENT] = n
    return dict(counts)


# SQLite stores times as UTC text ("2026-11-23 23:27:13.123456"): a prefix is the bucket.
_SQLITE_PREFIX = {"minute": 16, "hour": 13, "day": 10}


def _bucket(field: str, unit: str):
    """The SQL for `field` truncated to `unit`. On SQLite, Django's Trunc calls a Python
    function for every row (12 s at a million events): a prefix of the stored text is the same
    bucket, in UTC, computed by SQLite itself."""
    if connection.vendor == "sqlite" and settings.TIME_ZONE == "UTC":
        return Substr(field, 1, _SQLITE_PREFIX[unit], output_field=CharField())
    return Trunc(field, unit)


def _bucket_start(bucket: datetime | str, unit: str) -> datetime:
    if isinstance(bucket, datetime):
        return bucket
    text = {"minute": bucket + ":00", "hour": bucket + ":00:00", "day": bucket + " 00:00:00"}
    return datetime.fromisoformat(text[unit]).replace(tzinfo=UTC)
