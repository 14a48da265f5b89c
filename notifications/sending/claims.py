"""Claims: which worker holds which delivery, and until when.

A delivery moves `pending -> sending` when a worker claims it (a token and a lease), gets
`request_started_at` the moment its provider request begins, and leaves `sending` when the
worker records the answer, but only while it still carries that worker's claim. So:

- pause, cancel and an expired lease can take back a claimed delivery whose request has not
  begun (row locks decide the race with the worker's own "start" transaction), and a paused
  or cancelled campaign starts no request after the call returns;
- a delivery whose request began and whose worker vanished becomes `unknown`, never resent
  automatically (the providers have no idempotency key);
- a worker that wakes up after its lease ran out cannot overwrite what happened since.

Leases are short (`VESTNIK_CLAIM_LEASE_SECONDS`) and the sender renews them while it works, so
a dead worker's rows are back in play within about a lease; a begun request's lease covers the
longest the request may take, since nothing renews it while the worker waits for the answer.

Claims use SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, and one conditional UPDATE under
SQLite's write lock elsewhere, so two workers never hold the same row.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, TextField, Value, When
from django.utils import timezone

from ..db.bulk import db_timestamp
from ..models import Campaign, Delivery
from .counters import counters_add, counters_move

Status = Delivery.Status


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds."""

    id: int
    recipient_id: int
    address: str
    attempts: int


def token_value(token: uuid.UUID) -> Any:
    """A claim token as the database stores it, for hand-written SQL."""
    return Delivery._meta.get_field("claim_token").get_db_prep_value(token, connection)


def _sql_names() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "delivery": quote(Delivery._meta.db_table),
        "campaign": quote(Campaign._meta.db_table),
    }


def commit_without_flush() -> None:
    """Let this transaction's commit return before its WAL reaches disk (PostgreSQL only).

    Only for writes whose loss in a database crash our rules already survive: a lost claim
    leaves the rows pending (the lease sweep finds nothing to do), a lost result leaves them
    `sending` with their request begun, so they become `unknown` and are never resent. The
    start marker is never written this way: losing it could send a message twice.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _running(campaign_param: str = "%s", *, version: int | None = None) -> str:
    """SQL: the campaign is running (checked in the same statement as the change it guards),
    and its content is `version` when given."""
    same_content = "" if version is None else f" AND content_version = {int(version)}"
    return (
        f"EXISTS (SELECT 1 FROM {_sql_names()['campaign']} "  # noqa: S608 - quoted names
        f"WHERE id = {campaign_param} AND status = '{Campaign.Status.RUNNING}'{same_content})"
    )


def deliveries_claim(
    *, campaign_id: int, limit: int, lease_seconds: float, after_id: int = 0
) -> tuple[uuid.UUID, list[Claimed]]:
    """Take up to `limit` due pending deliveries of a running campaign for this worker.

    Lowest ids first, from `after_id` on: a sender passes the last id it claimed, so the scan
    starts where pending rows begin instead of wading through every row sent so far
    (PostgreSQL's planner, thinking pending rows spread evenly, walks the primary key).

    One statement: `UPDATE ... WHERE id IN (due rows) RETURNING`. On PostgreSQL the due rows
    are picked FOR NO KEY UPDATE SKIP LOCKED, so concurrent workers take disjoint rows; SQLite
    runs the whole statement under its write lock.
    """
    token = uuid.uuid4()
    now = timezone.now()
    stamp = db_timestamp(now)
    lock = " FOR NO KEY UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    table = _sql_names()["delivery"]
    sql = (
        f"UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, "  # noqa: S608
        "request_started_at = NULL, updated_at = %s "
        f"WHERE id IN (SELECT id FROM {table} WHERE campaign_id = %s AND status = %s AND id > %s "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) "
        f"ORDER BY id LIMIT %s{lock}) AND {_running()} "
        "RETURNING id, recipient_id, address, attempts"
    )
    params = [
        Status.SENDING,
        token_value(token),
        db_timestamp(now + timedelta(seconds=lease_seconds)),
        stamp,
        campaign_id,
        Status.PENDING,
        after_id,
        stamp,
        limit,
        campaign_id,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        commit_without_flush()
        cursor.execute(sql, params)
        claimed = [Claimed(*row) for row in sorted(cursor.fetchall())]
        counters_move(
            campaign_id=campaign_id,
            source=Status.PENDING,
            target=Status.SENDING,
            count=len(claimed),
        )
    return token, claimed


def _ids_condition(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """SQL `id` in `ids`, with its parameters: one array on PostgreSQL, a list elsewhere."""
    if connection.vendor == "postgresql":
        return "id = ANY(%s)", [list(ids)]
    return f"id IN ({', '.join(['%s'] * len(ids))})", list(ids)


def deliveries_start(
    *,
    campaign_id: int,
    token: uuid.UUID,
    ids: Sequence[int],
    calls: int = 1,
    content_version: int | None = None,
) -> set[int]:
    """Mark the request for `ids` as begun; returns the ids still held by this claim.

    Runs right before the provider request, as one conditional UPDATE. Racing a pause, a cancel
    or the lease sweep, either it takes the row locks first and the request may go (they then
    see the rows begun), or they took the rows back first and PostgreSQL re-checks the
    condition on the rows' new versions (SQLite's write lock serialises the same way), so the
    rows are not marked and not sent.

    The same UPDATE sets the rows' lease to cover the whole request (`calls` HTTP calls before
    anything renews it: see `Provider.calls_per_send`):
    without that, a slow answer's rows would turn `unknown` under a live worker. (The read
    timeout bounds each wait for a byte, not the whole answer: one that trickles in for longer
    than the request's allowance plus a lease is recorded as `unknown`, never sent twice.)

    With `content_version`, the rows start only while the campaign's content is still the
    version they were rendered from: a pause, an edit and a resume between the render and the
    request would otherwise send the old text (the rows go back with the claim, to be rendered
    again).
    """
    if not ids:
        return set()
    now = timezone.now()
    stamp = db_timestamp(now)
    lease_until = db_timestamp(now + timedelta(seconds=begun_lease_seconds(calls)))
    in_ids, id_params = _ids_condition(ids)
    sql = (
        f"UPDATE {_sql_names()['delivery']} SET request_started_at = %s, "  # noqa: S608
        "lease_expires_at = %s, attempts = attempts + 1, updated_at = %s "
        f"WHERE {in_ids} AND claim_token = %s "
        f"AND status = %s AND request_started_at IS NULL AND {_running(version=content_version)}"
        " RETURNING id"
    )
    params = [
        stamp,
        lease_until,
        stamp,
        *id_params,
        token_value(token),
        Status.SENDING,
        campaign_id,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}


def deliveries_restart(
    *, campaign_id: int, token: uuid.UUID, ids: Sequence[int], lease_seconds: float
) -> set[int]:
    """Before a request is repeated within one send: the ids still held by this claim, begun,
    in a running campaign; their lease is extended by `lease_seconds`.

    Pause and cancel leave begun rows alone, so unlike `deliveries_start` no row lock settles
    the race: the campaign row is read FOR SHARE first, which waits for a pause or cancel under
    way and makes the next one wait for this transaction. A pause that committed first stops
    the repeat (the caller gives the rows back: nothing was sent); one that comes after finds
    the repeat under way, as it finds any begun request. SQLite's one writer does the same.
    """
    if not ids:
        return set()
    now = timezone.now()
    stamp = db_timestamp(now)
    lease_until = db_timestamp(now + timedelta(seconds=lease_seconds))
    in_ids, id_params = _ids_condition(ids)
    sql = (
        f"UPDATE {_sql_names()['delivery']} SET lease_expires_at = %s, "  # noqa: S608
        f"updated_at = %s WHERE {in_ids} AND claim_token = %s "
        f"AND status = %s AND request_started_at IS NOT NULL AND {_running()} RETURNING id"
    )
    params = [lease_until, stamp, *id_params, token_value(token), Status.SENDING, campaign_id]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT 1 FROM {_sql_names()['campaign']} WHERE id = %s AND status = %s "  # noqa: S608
                "FOR SHARE",
                [campaign_id, Campaign.Status.RUNNING],
            )
            if cursor.fetchone() is None:
                return set()
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}


def deliveries_release(
    *,
    campaign_id: int,
    token: uuid.UUID,
    started_too: bool = False,
    waiting: Mapping[int, datetime] | None = None,
    reasons: Mapping[int, str] | None = None,
) -> int:
    """Give back this claim's deliveries whose request has not begun; they become pending.

    `waiting`: ids that may not go yet, with when each is due again (quiet hours, a frequency
    cap: not an attempt, no event), and `reasons`, what some of those rows say meanwhile; set
    in the same statement.

    With `started_too`, also those whose request the provider refused as a whole before it
    did anything (bad credentials, a repeat that must not go): that request does not count as
    an attempt. Cancel leaves begun rows to their sender, so those of a campaign cancelled
    meanwhile become cancelled, not pending in a campaign nothing claims from again; the
    campaign is locked first, as pause and cancel lock it.
    """
    now = timezone.now()
    back = {
        "status": Status.PENDING,
        "claim_token": None,
        "lease_expires_at": None,
        "request_started_at": None,
        "updated_at": now,
    }
    held = Delivery.objects.filter(
        campaign_id=campaign_id, status=Status.SENDING, claim_token=token
    )
    until = dict(back)
    if waiting:
        whens = [When(pk=pk, then=Value(due)) for pk, due in waiting.items()]
        until = {
            **back,
            "next_attempt_at": Case(
                *whens, default=F("next_attempt_at"), output_field=DateTimeField()
            ),
        }
    if reasons:
        notes = [When(pk=pk, then=Value(reason)) for pk, reason in reasons.items()]
        until["error"] = Case(*notes, default=F("error"), output_field=TextField())
    with transaction.atomic():
        begun_target = Status.PENDING
        if started_too:
            status = (
                Campaign.objects.select_for_update(no_key=True)
                .filter(pk=campaign_id)
                .values_list("status", flat=True)
                .first()
            )
            if status == Campaign.Status.CANCELLED:
                begun_target = Status.CANCELLED
        released = held.filter(request_started_at__isnull=True).update(**until)
        begun = 0
        if started_too:
            begun = held.filter(request_started_at__isnull=False).update(
                **{**back, "status": begun_target}, attempts=F("attempts") - 1
            )
        moved: Counter = Counter({Status.PENDING: released})
        moved[begun_target] += begun
        counters_add(
            campaign_id=campaign_id,
            deltas={Status.SENDING: -(released + begun), **{k: v for k, v in moved.items() if v}},
        )
    return released + begun


def begun_lease_seconds(requests: int = 1) -> float:
    """How long a begun request holds its rows: the longest it may take, then a lease.

    `requests`: HTTP calls the send may make before its rows are renewed (Bitrix24's refused
    call and its token refresh come before the repeat renews them).
    """
    return (
        requests * (settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT)
        + settings.VESTNIK_CLAIM_LEASE_SECONDS
    )
