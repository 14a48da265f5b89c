"""Reading the history as an outbox: new events become the messages each endpoint is owed.

One fan-out runs at a time (it locks the cursor row). It reads events after the cursor up to
the settled horizon, in id order, and for each endpoint subscribed to them writes messages of up
to `OUTBOUND_WEBHOOK_BATCH` events of one campaign, in the same transaction as it moves the
cursor: an event becomes a message exactly once, and none is skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from notifications.models import Campaign, DeliveryEvent

from .events import EVENT_FIELDS, EVENT_TYPES, event_payload
from .models import Cursor, Endpoint, Message

# Events read per fan-out: one transaction stays short; the next fan-out goes on.
EVENTS_PER_FAN_OUT = 5000


def cursor_ensure() -> None:
    """Make the cursor row the first time: where the oldest endpoint began (or at the
    history's end), so integrations hear what happens after they are registered, not the past."""
    if not Cursor.objects.filter(pk=1).exists():
        start = Endpoint.objects.aggregate(start=Min("since_event_id"))["start"]
        start = _last_event_id() if start is None else start
        Cursor.objects.get_or_create(pk=1, defaults={"event_id": start})


def cursor_lock() -> Cursor:
    """The cursor row, locked for this transaction."""
    cursor_ensure()
    return Cursor.objects.select_for_update().get(pk=1)


def _last_event_id() -> int:
    return DeliveryEvent.objects.aggregate(last=Max("id"))["last"] or 0


# Transactions of this database, other than this session's, holding an xid older than the
# given one. A transaction holds an exclusive lock on its own xid until it ends (pg_locks and a
# session's database are visible to every role). xids in pg_locks are 32 bits and wrap; the
# noted xmax is 64, so "older" is the wrapping distance, as PostgreSQL compares xids.
_OLDER_RUNNING = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
    "WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted "
    "AND a.datname = current_database() AND l.pid <> pg_backend_pid() "
    "AND ((%s - l.transactionid::text::bigint) %% 4294967296 + 4294967296) %% 4294967296 "
    "BETWEEN 1 AND 2147483647)"
)


def settled_horizon(cursor: Cursor) -> int:
    """The highest event id below which no event can still appear; advances the cursor's
    candidate (the caller saves it).

    SQLite has one writer at a time, so ids become visible in order: the last id is settled.
    PostgreSQL takes an id when a row is inserted, before its transaction commits, so event 7
    can become visible after event 8. The last id read becomes a candidate; at the next call
    the snapshot's xmax is noted (every transaction that took an id up to the candidate has an
    xid below it by then: the id and the xid are taken in the same INSERT); once no transaction
    of this database below that xmax is still running, the candidate is settled. Three calls
    apart, about two seconds while the pump runs.

    Only this database's transactions count: the snapshot's xmin is the whole server's, so one
    long transaction in another database on the same server (a report, a migration, another
    application) would hold every webhook back for as long as it runs.
    """
    if connection.vendor != "postgresql":
        cursor.settled_event_id = _last_event_id()
        return cursor.settled_event_id
    if cursor.candidate_event_id is not None:
        with connection.cursor() as db:
            if cursor.candidate_xmax is None:
                db.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                (cursor.candidate_xmax,) = db.fetchone()
            else:
                db.execute(_OLDER_RUNNING, [cursor.candidate_xmax % 2**32])
                (older_running,) = db.fetchone()
                if not older_running:
                    cursor.settled_event_id = max(
                        cursor.settled_event_id, cursor.candidate_event_id
                    )
                    cursor.candidate_event_id = cursor.candidate_xmax = None
    if cursor.candidate_event_id is None:
        cursor.candidate_event_id = _last_event_id()
    return cursor.settled_event_id


def types_wanted(endpoints: Iterable[Endpoint]) -> set[str]:
    """The history's event types the `endpoints` subscribe to."""
    return {EVENT_TYPES[name][0] for endpoint in endpoints for name in endpoint.events}


def history_wanted() -> set[str]:
    """What active endpoints want of the history now: the send path writes the events only
    some reader wants (a message's "sent") while this names them."""
    return types_wanted(Endpoint.objects.filter(is_active=True).only("events"))


def events_fan_out() -> int:
    """Turn the settled events after the cursor into messages; how many events were read."""
    with transaction.atomic():
        cursor = cursor_lock()
        horizon = settled_horizon(cursor)
        endpoints = list(Endpoint.objects.filter(is_active=True))
        wanted = types_wanted(endpoints)
        rows: list[dict] = []
        if wanted and horizon > cursor.event_id:
            rows = list(
                DeliveryEvent.objects.filter(
                    id__gt=cursor.event_id, id__lte=horizon, type__in=wanted
                )
                .exclude(campaign__kind=Campaign.Kind.TEST)
                .order_by("id")
                .values(*EVENT_FIELDS)[:EVENTS_PER_FAN_OUT]
            )
        full = len(rows) == EVENTS_PER_FAN_OUT
        Message.objects.bulk_create(_messages(endpoints, rows), batch_size=500)
        cursor.event_id = rows[-1]["id"] if full else max(cursor.event_id, horizon)
        cursor.save()
    return len(rows)


def _messages(endpoints: Iterable[Endpoint], rows: list[dict]) -> Iterable[Message]:
    """Per endpoint and campaign, the events it subscribed to, in batches, oldest first."""
    now = timezone.now()
    batch = settings.OUTBOUND_WEBHOOK_BATCH
    for endpoint in endpoints:
        types = {EVENT_TYPES[name][0] for name in endpoint.events}
        streams: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            if row["type"] in types and row["id"] > endpoint.since_event_id:
                streams[row["campaign_id"] or 0].append(row)
        for stream, events in streams.items():
            for start in range(0, len(events), batch):
                chunk = events[start : start + batch]
                yield Message(
                    endpoint=endpoint,
                    campaign_id=stream or None,
                    stream=stream,
                    first_event_id=chunk[0]["id"],
                    last_event_id=chunk[-1]["id"],
                    event_count=len(chunk),
                    body=json.dumps(
                        {"events": [event_payload(row) for row in chunk]},
                        ensure_ascii=False,
                        separators=(",", ":"),
                    ),
                    created_at=now,
                )
