"""Leases: keeping a claim alive while its sender works, and taking back a dead worker's.

See `notifications.sending.claims` for what a claim and its lease guarantee.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.providers.limits import Limits
from notifications.reasons import reason_encode

from ..db.bulk import bulk_update, db_timestamp
from ..models import Campaign, Delivery, DeliveryCounter, DeliveryEvent
from .counters import counters_add
from .limiter import Limiter
from .outcomes import StatusChange, events_add

Status = Delivery.Status


def deliveries_renew(*, campaign_id: int, token: uuid.UUID, lease_seconds: float) -> int:
    """Extend this claim's lease, and mark the campaign's worker as seen; returns rows renewed.

    Only rows whose request has not begun: a begun request's lease already covers it. A claim
    that the sweep, a pause or a cancel took back no longer carries the token, so it stays taken.
    """
    now = timezone.now()
    renewed = Delivery.objects.filter(
        campaign_id=campaign_id,
        status=Status.SENDING,
        claim_token=token,
        request_started_at__isnull=True,
    ).update(lease_expires_at=now + timedelta(seconds=lease_seconds))
    Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=now)
    return renewed


def deliveries_expire_leases(*, campaign_id: int | None = None) -> dict[str, int]:
    """Resolve deliveries whose worker is gone: begun requests become unknown, the rest pending.

    The tick sweeps every campaign; a sender sweeps its own (`campaign_id`) as it goes, so a
    dead worker's rows go back to the senders still at work without waiting for the tick.
    """
    now = timezone.now()
    expired = deliveries_expired(
        campaign_ids=campaigns_holding() if campaign_id is None else [campaign_id], now=now
    )
    quote = connection.ops.quote_name
    # Re-checked in the UPDATE itself: a worker may record its answer in the meantime.
    still_expired = f"{quote('status')} = %s AND {quote('lease_expires_at')} < %s"
    stamp = db_timestamp(now)
    totals: Counter = Counter()
    columns = ["status", "error", "claim_token", "lease_expires_at", "updated_at"]
    for swept in set(expired.values_list("campaign_id", flat=True).distinct()):
        rows = list(
            expired.filter(campaign_id=swept).values_list(
                "id", "recipient_id", "request_started_at"
            )
        )
        begun = {pk: recipient for pk, recipient, started in rows if started is not None}
        with transaction.atomic():
            unknown = bulk_update(
                Delivery,
                columns,
                [
                    (pk, Status.UNKNOWN, reason_encode("worker_lost"), None, None, stamp)
                    for pk in begun
                ],
                where=still_expired,
                params=[Status.SENDING, stamp],
            )
            released = bulk_update(
                Delivery,
                [*columns, "request_started_at"],
                [
                    (pk, Status.PENDING, "", None, None, stamp, None)
                    for pk, _, s in rows
                    if s is None
                ],
                where=still_expired,
                params=[Status.SENDING, stamp],
            )
            counters_add(
                campaign_id=swept,
                deltas={
                    Status.SENDING: -(len(unknown) + len(released)),
                    Status.UNKNOWN: len(unknown),
                    Status.PENDING: len(released),
                },
            )
            events_add(
                swept,
                [
                    StatusChange(
                        pk, Status.UNKNOWN, DeliveryEvent.Type.UNKNOWN, reason_encode("worker_lost")
                    )
                    for pk in unknown
                ],
                begun,
                now,
            )
        totals.update({"unknown": len(unknown), "released": len(released)})
    return dict(totals)


def campaigns_holding() -> set[int]:
    """Campaigns whose deliveries workers may hold (`sending`): those the counters say have
    some, and every running or paused campaign whatever its counters say."""
    counted = DeliveryCounter.objects.filter(status=Status.SENDING, count__gt=0)
    live = Campaign.objects.filter(status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED])
    return set(counted.values_list("campaign_id", flat=True)) | set(
        live.values_list("pk", flat=True)
    )


def deliveries_expired(*, campaign_ids: Iterable[int], now: datetime) -> QuerySet:
    """The campaigns' deliveries whose worker's lease ran out. Read among each campaign's
    `sending` rows through the (campaign, status) index: no index on the lease (see
    `Delivery.Meta`)."""
    return Delivery.objects.filter(
        campaign_id__in=list(campaign_ids), status=Status.SENDING, lease_expires_at__lt=now
    )


class Lease:
    """Keeps one claim alive while its sender works, renewing it every third of a lease."""

    def __init__(self, *, campaign_id: int, token: uuid.UUID, seconds: float) -> None:
        self.campaign_id = campaign_id
        self.token = token
        self.seconds = seconds
        self.every = seconds / 3
        self.renewed = time.monotonic()

    def keep(self) -> None:
        """Renew the claim if a third of its lease has passed since the last renewal."""
        if time.monotonic() - self.renewed >= self.every:
            deliveries_renew(
                campaign_id=self.campaign_id, token=self.token, lease_seconds=self.seconds
            )
            self.renewed = time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait (for a permit or a provider's hold) without letting the claim expire.

        Renewals come before each step, never after the last: the wait usually ends at the
        time a permit was reserved for, and a write then would delay that request and bunch it
        with the next one, past the provider's rate.
        """
        until = time.monotonic() + seconds
        while True:
            self.keep()
            left = until - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, self.every))

    @contextmanager
    def slot(
        self, limiter: Limiter, key: str, limits: Limits, *, max_wait: float, slot_lease: float
    ) -> Iterator[bool]:
        """The limiter's parallel-request slot, waited for in steps that renew the claim."""
        deadline = time.monotonic() + max_wait
        while True:
            step = max(0.0, min(self.every, deadline - time.monotonic()))
            with limiter.slot(key, limits, max_wait=step, lease=slot_lease) as got_slot:
                if got_slot or time.monotonic() >= deadline:
                    yield got_slot
                    return
            self.keep()
