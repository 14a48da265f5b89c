"""The pump: fan-out and sending on a worker, one pump at a time, for as long as there is work.

It is started by its django-q2 schedule every minute (retries fall due while nobody waits), and
at once when a campaign moves (`signals`), and it stays while events keep coming: a campaign's
outcomes reach integrations within seconds while it sends. A pump killed mid-way leaves its
lease to run out; the next one goes on from the cursor and the claims.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from notifications.models import Campaign, DeliveryEvent

from .fanout import cursor_ensure, events_fan_out
from .models import Cursor, Endpoint, Message
from .sender import messages_send_due

PUMP_SCHEDULE = "vestnik-outbound"
# Fan out at most this often: on PostgreSQL an event settles within three fan-outs.
FAN_OUT_EVERY_SECONDS = 0.7
# With nothing to do for this long, the pump ends (its schedule or a move starts the next).
IDLE_SECONDS = 5.0
# Kept free of django-q2's timeout, for a last request and the bookkeeping.
MARGIN_SECONDS = 15


def _lease_seconds() -> float:
    """A live pump renews its lease after each round (a request at most, and a fan-out); a
    dead one's lapses after this, and the next pump takes over."""
    return 2 * settings.OUTBOUND_WEBHOOK_TIMEOUT + 5


def _lease_take(now) -> bool:
    cursor_ensure()
    free = Q(pump_until__isnull=True) | Q(pump_until__lt=now)
    return bool(
        Cursor.objects.filter(free, pk=1).update(
            pump_until=now + timedelta(seconds=_lease_seconds())
        )
    )


def _lease_renew() -> None:
    Cursor.objects.filter(pk=1).update(
        pump_until=timezone.now() + timedelta(seconds=_lease_seconds())
    )


def work_waiting() -> bool:
    """Whether a pump has something to do now or in a moment: a message due, or, while an
    endpoint listens, events not yet read or a campaign sending."""
    now = timezone.now()
    due = Message.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        status=Message.Status.PENDING,
        endpoint__is_active=True,
    )
    if due.exists():
        return True
    if not Endpoint.objects.filter(is_active=True).exists():
        return False
    # A campaign sending writes outcomes any moment: stay for them.
    sending = Campaign.objects.filter(status=Campaign.Status.RUNNING).exclude(
        kind=Campaign.Kind.TEST
    )
    if sending.exists():
        return True
    cursor = Cursor.objects.filter(pk=1).first()
    last = DeliveryEvent.objects.aggregate(last=Max("id"))["last"] or 0
    return cursor is None or last > cursor.event_id


def pump() -> str:
    """Fan out and send until nothing is left for `IDLE_SECONDS` or the task's time is up."""
    if not _lease_take(timezone.now()):
        return "another pump is running"
    budget = max(
        10.0, settings.Q_CLUSTER["timeout"] - settings.OUTBOUND_WEBHOOK_TIMEOUT - MARGIN_SECONDS
    )
    started = time.monotonic()
    idle_since = started
    next_fan_out = started
    sent = read = 0
    while time.monotonic() - started < budget:
        _lease_renew()
        worked = 0
        if time.monotonic() >= next_fan_out:
            count = events_fan_out()
            read += count
            worked += count
            next_fan_out = time.monotonic() + FAN_OUT_EVERY_SECONDS
        count = messages_send_due()
        sent += count
        worked += count
        if worked or work_waiting():
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > IDLE_SECONDS:
            break
        if not count:
            time.sleep(0.2 if worked else 0.5)
    Cursor.objects.filter(pk=1).update(pump_until=None)
    if time.monotonic() - started >= budget and work_waiting():
        wake()
    return f"{read} events read, {sent} requests"


def wake() -> None:
    """Start a pump now (one that finds another running returns at once)."""
    from django_q.tasks import async_task

    async_task(pump)
