"""The send loop: claim due deliveries, render, ask the limiter, send, record.

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

import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Min, Value, When
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_pause
from notifications.content.checks import render_for_channel
from notifications.content.rendering import RECIPIENT_FIELDS, RenderError, compile_template

from .bulk import bulk_insert, bulk_update, db_json, db_timestamp
from .counters import counters_add, counters_move
from .models import Campaign, Delivery, DeliveryEvent, ProviderQuota, Recipient
from .providers.base import Provider
from .providers.exceptions import NoPermit, ProviderConfigurationError
from .providers.limits import Limits
from .providers.values import (
    BatchOutcome,
    Content,
    OutboundMessage,
    QuotaInfo,
    ResultStatus,
    SendResult,
)
from .ratelimit import Limiter, get_limiter

logger = logging.getLogger(__name__)

Status = Delivery.Status
MAX_CLAIM = 1000
# Claim what the provider's limits let us send in about this many seconds.
CLAIM_HORIZON_SECONDS = 10
WORKER_LOST = "The worker sending this stopped before the provider answered."
NO_PERMIT = "the provider's limit leaves no room within this task's time"
REPEAT_STOPPED = "the campaign stopped, or the claim was taken back, before a repeat request"
REPEAT_NO_PERMIT = "the provider's limit left no room for a repeat request in time"
# A repeat within one send already holds its rows and a slot: it waits this long at most.
REPEAT_MAX_WAIT_SECONDS = 10


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds."""

    id: int
    recipient_id: int
    address: str
    attempts: int


@dataclass
class SendReport:
    """What one run of the send loop did."""

    requests: int = 0
    outcomes: Counter = field(default_factory=Counter)
    stopped_because: str = ""
    more_work: bool = False


def _token_value(token: uuid.UUID) -> Any:
    return Delivery._meta.get_field("claim_token").get_db_prep_value(token, connection)


# --- Claims -------------------------------------------------------------------------------


def _sql_names() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "delivery": quote(Delivery._meta.db_table),
        "campaign": quote(Campaign._meta.db_table),
    }


def _commit_without_flush() -> None:
    """Let this transaction's commit return before its WAL reaches disk (PostgreSQL only).

    Only for writes whose loss in a database crash our rules already survive: a lost claim
    leaves the rows pending (the lease sweep finds nothing to do), a lost result leaves them
    `sending` with their request begun, so they become `unknown` and are never resent. The
    start marker is never written this way: losing it could send a message twice.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _running(campaign_param: str = "%s") -> str:
    """SQL: the campaign is running (checked in the same statement as the change it guards)."""
    return (
        f"EXISTS (SELECT 1 FROM {_sql_names()['campaign']} "  # noqa: S608 - quoted names
        f"WHERE id = {campaign_param} AND status = '{Campaign.Status.RUNNING}')"
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
        _token_value(token),
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
        _commit_without_flush()
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
    *, campaign_id: int, token: uuid.UUID, ids: Sequence[int], calls: int = 1
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
        f"AND status = %s AND request_started_at IS NULL AND {_running()} RETURNING id"
    )
    params = [
        stamp,
        lease_until,
        stamp,
        *id_params,
        _token_value(token),
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
    params = [lease_until, stamp, *id_params, _token_value(token), Status.SENDING, campaign_id]
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


def deliveries_release(*, campaign_id: int, token: uuid.UUID, started_too: bool = False) -> int:
    """Give back this claim's deliveries whose request has not begun; they become pending.

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
    held = Delivery.objects.filter(claim_token=token, status=Status.SENDING)
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
        released = held.filter(request_started_at__isnull=True).update(**back)
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


# --- Recording ----------------------------------------------------------------------------


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: exponential backoff with jitter."""
    base = settings.VESTNIK_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)
    capped = min(settings.VESTNIK_RETRY_MAX_SECONDS, base)
    # "Equal jitter": never less than half the delay, so retries spread without bunching early.
    return capped / 2 + random.uniform(0, capped / 2)  # noqa: S311 - not for security


@dataclass(frozen=True)
class _Row:
    """One delivery's new state, ready for the bulk UPDATE."""

    delivery_id: int
    status: str
    event: str
    detail: str
    next_attempt_at: datetime | None = None
    attempts_back: int = 0


def deliveries_record(
    *,
    campaign_id: int,
    token: uuid.UUID,
    results: Sequence[SendResult],
    contents: dict[int, Content],
    recipients: dict[int, int],
    attempts: dict[int, int],
    throttled: bool = False,
) -> Counter:
    """Store each result on its delivery, if the delivery still carries this claim.

    `throttled` means the provider refused the whole request because of its rate limit: the
    deliveries go back to pending for the time it named without using up an attempt.
    Returns how many deliveries reached each status.
    """
    now = timezone.now()
    max_attempts = settings.VESTNIK_MAX_ATTEMPTS
    responses = {r.delivery_id: r.response for r in results}
    rows: list[_Row] = []
    for result in results:
        detail = ": ".join(part for part in (result.code, result.message) if part)
        if result.status == ResultStatus.SENT:
            rows.append(_Row(result.delivery_id, Status.SENT, DeliveryEvent.Type.SENT, detail))
        elif result.status == ResultStatus.FAILED:
            rows.append(_Row(result.delivery_id, Status.FAILED, DeliveryEvent.Type.FAILED, detail))
        elif result.status == ResultStatus.UNKNOWN:
            rows.append(
                _Row(result.delivery_id, Status.UNKNOWN, DeliveryEvent.Type.UNKNOWN, detail)
            )
        elif throttled:
            rows.append(
                _Row(
                    result.delivery_id,
                    Status.PENDING,
                    DeliveryEvent.Type.RETRY_SCHEDULED,
                    f"provider limit reached; {detail}".rstrip("; "),
                    next_attempt_at=result.retry_at or now,
                    attempts_back=1,
                )
            )
        else:
            made = attempts.get(result.delivery_id, 0)
            if made >= max_attempts:
                rows.append(
                    _Row(
                        result.delivery_id,
                        Status.FAILED,
                        DeliveryEvent.Type.FAILED,
                        f"gave up after {made} attempts; last: {detail}",
                    )
                )
                continue
            later = now + timedelta(seconds=retry_delay(made))
            if result.retry_at and result.retry_at > later:
                later = result.retry_at
            rows.append(
                _Row(
                    result.delivery_id,
                    Status.PENDING,
                    DeliveryEvent.Type.RETRY_SCHEDULED,
                    detail,
                    next_attempt_at=later,
                )
            )
    # Many rows share one content (an unpersonalised message) and one response (a whole
    # request's answer): each is turned into JSON once.
    content_json = _json_once(
        (contents[r.delivery_id] for r in results if r.delivery_id in contents), Content.as_dict
    )
    response_json = _json_once(responses.values())
    stamp = db_timestamp(now)
    quote = connection.ops.quote_name
    where = f"{quote('claim_token')} = %s AND {quote('status')} = %s"
    reached: Counter = Counter()
    with transaction.atomic():
        _commit_without_flush()
        updated = set(
            bulk_update(
                Delivery,
                [
                    "status",
                    "error",
                    "content",
                    "provider_response",
                    "next_attempt_at",
                    "sent_at",
                    "attempts",
                ],
                [
                    (
                        row.delivery_id,
                        row.status,
                        "" if row.status == Status.SENT else row.detail,
                        content_json[id(contents[row.delivery_id])]
                        if row.delivery_id in contents
                        else None,
                        response_json[id(responses[row.delivery_id])],
                        db_timestamp(row.next_attempt_at) if row.next_attempt_at else None,
                        stamp if row.status == Status.SENT else None,
                        max(0, attempts.get(row.delivery_id, 0) - row.attempts_back),
                    )
                    for row in rows
                ],
                same={
                    "claim_token": None,
                    "lease_expires_at": None,
                    "request_started_at": None,
                    "updated_at": stamp,
                },
                where=where,
                params=[_token_value(token), Status.SENDING],
            )
        )
        kept = [row for row in rows if row.delivery_id in updated]
        reached.update(row.status for row in kept)
        deltas = Counter(reached)
        deltas[Status.SENDING] -= len(kept)
        counters_add(campaign_id=campaign_id, deltas=deltas)
        _events_add(campaign_id, kept, recipients, now)
    lost = len(rows) - len(kept)
    if lost:
        logger.warning(
            "campaign %s: %s results arrived after their claim ended and were not recorded",
            campaign_id,
            lost,
        )
    return reached


def _json_once(values: Iterable[Any], convert: Callable[[Any], Any] = lambda v: v) -> dict:
    """JSON text of each distinct object among `values` (alive while the result is used), by
    its id()."""
    texts: dict[int, str | None] = {}
    for value in values:
        if id(value) not in texts:
            texts[id(value)] = db_json(convert(value))
    return texts


def _events_add(campaign_id: int, rows: Sequence[_Row], recipients: dict[int, int], now) -> None:
    stamp = db_timestamp(now)
    empty = db_json({})
    bulk_insert(
        DeliveryEvent,
        [
            "type",
            "occurred_at",
            "created_at",
            "campaign_id",
            "delivery_id",
            "recipient_id",
            "detail",
            "data",
            "link",
            "sendios_user_id",
        ],
        [
            (
                row.event,
                stamp,
                stamp,
                campaign_id,
                row.delivery_id,
                recipients.get(row.delivery_id),
                row.detail,
                empty,
                "",
                "",
            )
            for row in rows
        ],
    )


# --- Leases -------------------------------------------------------------------------------


def begun_lease_seconds(requests: int = 1) -> float:
    """How long a begun request holds its rows: the longest it may take, then a lease.

    `requests`: HTTP calls the send may make before its rows are renewed (Bitrix24's refused
    call and its token refresh come before the repeat renews them).
    """
    return (
        requests * (settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT)
        + settings.VESTNIK_CLAIM_LEASE_SECONDS
    )


def deliveries_renew(*, campaign_id: int, token: uuid.UUID, lease_seconds: float) -> int:
    """Extend this claim's lease, and mark the campaign's worker as seen; returns rows renewed.

    Only rows whose request has not begun: a begun request's lease already covers it. A claim
    that the sweep, a pause or a cancel took back no longer carries the token, so it stays taken.
    """
    now = timezone.now()
    renewed = Delivery.objects.filter(
        claim_token=token, status=Status.SENDING, request_started_at__isnull=True
    ).update(lease_expires_at=now + timedelta(seconds=lease_seconds))
    Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=now)
    return renewed


def deliveries_expire_leases(*, campaign_id: int | None = None) -> dict[str, int]:
    """Resolve deliveries whose worker is gone: begun requests become unknown, the rest pending.

    The tick sweeps every campaign; a sender sweeps its own (`campaign_id`) as it goes, so a
    dead worker's rows go back to the senders still at work without waiting for the tick.
    """
    now = timezone.now()
    expired = Delivery.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
    if campaign_id is not None:
        expired = expired.filter(campaign_id=campaign_id)
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
                [(pk, Status.UNKNOWN, WORKER_LOST, None, None, stamp) for pk in begun],
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
            _events_add(
                swept,
                [
                    _Row(pk, Status.UNKNOWN, DeliveryEvent.Type.UNKNOWN, WORKER_LOST)
                    for pk in unknown
                ],
                begun,
                now,
            )
        totals.update({"unknown": len(unknown), "released": len(released)})
    return dict(totals)


# --- The loop -----------------------------------------------------------------------------


def _render(
    campaign: Campaign, claimed: Sequence[Claimed]
) -> tuple[list[OutboundMessage], list[SendResult], dict[int, Content]]:
    compiled = compile_template(campaign.content)
    people = {
        pk: data
        for pk, *data in Recipient.objects.filter(
            id__in={c.recipient_id for c in claimed}
        ).values_list("id", *RECIPIENT_FIELDS, "attributes")
    }
    messages: list[OutboundMessage] = []
    failures: list[SendResult] = []
    contents: dict[int, Content] = {}
    for delivery in claimed:
        *fields, attributes = people[delivery.recipient_id]
        context = {**(attributes or {}), **dict(zip(RECIPIENT_FIELDS, fields, strict=True))}
        try:
            content = render_for_channel(compiled, campaign.channel, context)
        except RenderError as exc:
            failures.append(
                SendResult(delivery.id, ResultStatus.FAILED, code="render_error", message=str(exc))
            )
            continue
        contents[delivery.id] = content
        messages.append(OutboundMessage(delivery.id, delivery.address, content))
    return messages, failures, contents


def campaign_send(
    *,
    campaign_id: int,
    provider: Provider,
    budget_seconds: float,
    limiter: Limiter | None = None,
) -> SendReport:
    """Send due deliveries of a running campaign until none is due or the budget is spent."""
    limiter = limiter or get_limiter()
    report = SendReport()
    deadline = time.monotonic() + budget_seconds
    read_timeout = settings.PROVIDER_READ_TIMEOUT
    lease_seconds = settings.VESTNIK_CLAIM_LEASE_SECONDS
    key = f"{provider.channel}:{provider.account}"
    limits = provider.limits
    claim_size = _claim_size(limits, limiter.enabled)
    after_id = 0
    next_sweep = time.monotonic()
    while time.monotonic() < deadline:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Campaign.Status.RUNNING:
            report.stopped_because = "the campaign is not running"
            return report
        Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=timezone.now())
        if time.monotonic() >= next_sweep:
            # A dead sender's rows come back here, below the cursor: start from the bottom.
            if deliveries_expire_leases(campaign_id=campaign_id).get("released"):
                after_id = 0
            next_sweep = time.monotonic() + lease_seconds / 3
        token, claimed = deliveries_claim(
            campaign_id=campaign_id,
            limit=claim_size,
            lease_seconds=lease_seconds,
            after_id=after_id,
        )
        if not claimed and after_id:
            # Retries now due and rows other senders gave back may lie below the cursor.
            after_id = 0
            continue
        if not claimed:
            held_for = _others_hold_for(campaign_id)
            if held_for is None:
                report.stopped_because = "nothing is due"
                return report
            # Another sender holds rows that have not gone out. If it died, they come back when
            # its lease runs out, and this sender is there to send them; if it lives, it is
            # about to finish them, and this sender stops once it has.
            time.sleep(max(0.05, min(held_for, lease_seconds / 3, deadline - time.monotonic())))
            next_sweep = time.monotonic()
            continue
        after_id = claimed[-1].id
        attempts = {c.id: c.attempts for c in claimed}
        recipients = {c.id: c.recipient_id for c in claimed}
        messages, failures, contents = _render(campaign, claimed)
        if failures:
            # Render errors are the message's own fault: recorded without any request.
            report.outcomes.update(
                deliveries_record(
                    campaign_id=campaign_id,
                    token=token,
                    results=failures,
                    contents={},
                    recipients=recipients,
                    attempts=attempts,
                )
            )
        stop = _send_groups(
            campaign=campaign,
            provider=provider,
            limiter=limiter,
            key=key,
            token=token,
            lease=_Lease(campaign_id=campaign_id, token=token, seconds=lease_seconds),
            groups=provider.plan(messages),
            deadline=deadline,
            read_timeout=read_timeout,
            contents=contents,
            recipients=recipients,
            attempts=attempts,
            report=report,
        )
        deliveries_release(campaign_id=campaign_id, token=token)
        if stop:
            report.stopped_because = stop
            return report
    report.stopped_because = "the time budget is spent"
    report.more_work = True
    return report


def _others_hold_for(campaign_id: int) -> float | None:
    """Seconds until the first lease on the campaign's claimed, not yet begun rows runs out."""
    first = Delivery.objects.filter(
        campaign_id=campaign_id, status=Status.SENDING, request_started_at__isnull=True
    ).aggregate(first=Min("lease_expires_at"))["first"]
    return None if first is None else (first - timezone.now()).total_seconds()


def _claim_size(limits, limited: bool) -> int:
    """Enough deliveries for the requests the limits allow soon, so claims are not hoarded."""
    if not limited:
        return MAX_CLAIM
    requests_soon = limits.burst + CLAIM_HORIZON_SECONDS * limits.rate_count / limits.rate_period
    return max(limits.batch_size, min(MAX_CLAIM, int(limits.batch_size * requests_soon)))


class _Lease:
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


def _send_groups(
    *,
    campaign: Campaign,
    provider: Provider,
    limiter: Limiter,
    key: str,
    token: uuid.UUID,
    lease: _Lease,
    groups: list[list[OutboundMessage]],
    deadline: float,
    read_timeout: float,
    contents: dict[int, Content],
    recipients: dict[int, int],
    attempts: dict[int, int],
    report: SendReport,
) -> str:
    """Send each group as one request; returns why the loop must stop, or "" to go on."""
    limits = provider.limits
    calls = provider.calls_per_send
    one_call = settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT
    # The slot is held through every call of a send (Bitrix24: the refused call, the token
    # refresh, the repeat and its short wait for a permit) and must not lapse to another sender.
    slot_lease = calls * one_call + (REPEAT_MAX_WAIT_SECONDS if calls > 1 else 0) + 30

    for group in groups:
        if time.monotonic() >= deadline:
            report.more_work = True
            return "the time budget is spent"
        lease.keep()
        # The budget already leaves room for the last request: a wait may use all of it.
        with _turn(limiter, key, limits, lease, last_start=deadline, slot_lease=slot_lease) as stop:
            if stop:
                report.more_work = True
                return stop
            # Until a repeat renews them, the rows must outlast the calls before it.
            started = deliveries_start(
                campaign_id=campaign.pk,
                token=token,
                ids=[m.delivery_id for m in group],
                calls=max(1, calls - 1),
            )
            if not started:
                continue
            if len(started) < len(group):
                group = [m for m in group if m.delivery_id in started]
            for message in group:
                attempts[message.delivery_id] = attempts.get(message.delivery_id, 0) + 1
            permit = _repeat_permit(
                limiter=limiter,
                key=key,
                limits=limits,
                lease=lease,
                campaign_id=campaign.pk,
                token=token,
                ids=[m.delivery_id for m in group],
                last_start=deadline,
            )
            try:
                outcome = provider.send(group, permit=permit)
            except ProviderConfigurationError as exc:
                deliveries_release(campaign_id=campaign.pk, token=token, started_too=True)
                _campaign_pause_for(campaign.pk, f"{provider.channel}: {exc}")
                return "the provider refused our credentials or configuration"
            except NoPermit as stopped:
                # The provider's first request was refused as a whole (an expired token), and
                # its repeat found no permit or must not go: nothing was sent, so no attempt
                # was used.
                deliveries_release(campaign_id=campaign.pk, token=token, started_too=True)
                report.more_work = True
                return str(stopped)
            except Exception:
                # We cannot tell whether the request left: never risk sending it twice.
                _record_unknown(campaign.pk, token, group, contents, recipients, attempts)
                raise
            if outcome.hold_until is not None:
                # Recorded before the slot frees, so no sender can slip in between.
                limiter.hold(
                    key, until=outcome.hold_until.timestamp(), reason="provider asked to wait"
                )
        report.requests += 1
        if outcome.quota is not None:
            _quota_record(key, outcome.quota)
        throttled = outcome.hold_until is not None and all(
            r.status == ResultStatus.RETRY for r in outcome.results
        )
        report.outcomes.update(
            deliveries_record(
                campaign_id=campaign.pk,
                token=token,
                results=outcome.results,
                contents=contents,
                recipients=recipients,
                attempts=attempts,
                throttled=throttled,
            )
        )
        if _breaker_trips(campaign.pk, outcome, throttled):
            _campaign_pause_for(
                campaign.pk,
                f"{provider.channel} failed {settings.VESTNIK_BREAKER_THRESHOLD} requests in a "
                f"row; last: {_last_error(outcome)}",
            )
            return "the circuit breaker opened"
    return ""


def _permit(limiter: Limiter, key: str, limits: Limits, last_start: float, lease: _Lease) -> bool:
    """Wait for the limiter's next permit for `key`, keeping the claim alive; False when it
    comes after `last_start` (a time.monotonic() value) and nothing was reserved.

    The caller asks `held_for` once the permit is its own: a hold recorded while it waited
    (another sender's quota answer) is waited out with a fresh permit, so senders leave the
    hold spaced at the rate, not all at once.
    """
    left = last_start - time.monotonic()
    if left <= 0:  # the limiter would still grant one at once, past the time allowed
        return False
    wait = limiter.acquire(key, limits, max_wait=left)
    if wait is None:
        return False
    if wait > 0:
        lease.sleep(wait)
    return True


@contextmanager
def _turn(
    limiter: Limiter,
    key: str,
    limits: Limits,
    lease: _Lease,
    *,
    last_start: float,
    slot_lease: float,
) -> Iterator[str]:
    """A permit and a parallel-request slot, the slot held while the block runs.

    Yields "" when the request may go, else why the send loop must stop. The hold is asked
    once the slot is ours, right before the request: the provider may have told another
    sender to wait (a quota answer holds the whole account) after our permit was reserved or
    while we waited for the slot. Then a fresh permit waits it out; nothing was started, so no
    attempt is used. Every wait keeps the claim alive.
    """
    while True:
        if not _permit(limiter, key, limits, last_start, lease):
            yield NO_PERMIT
            return
        remaining = last_start - time.monotonic()
        with lease.slot(
            limiter, key, limits, max_wait=remaining, slot_lease=slot_lease
        ) as got_slot:
            if not got_slot:
                yield "no parallel-request slot came free within this task's time"
                return
            if limiter.held_for(key) <= 0:
                yield ""
                return


def _repeat_permit(
    *,
    limiter: Limiter,
    key: str,
    limits: Limits,
    lease: _Lease,
    campaign_id: int,
    token: uuid.UUID,
    ids: list[int],
    last_start: float,
) -> Callable[[], None]:
    """The permit a provider takes before it repeats a request within one send (Bitrix24, after
    a token refresh), raising NoPermit when the repeat must not go.

    The rows are begun and the slot is held, so the wait is short (`REPEAT_MAX_WAIT_SECONDS`),
    and a hold recorded meanwhile is waited out. Then `deliveries_restart` checks, in the same
    statement that extends the rows' lease, that they are still this claim's and the campaign
    still runs: a pause or cancel made while the first request and the refresh were under way
    stops the repeat, as it stops any request that has not begun.
    """

    def still_ours() -> bool:
        # Renews the rows' lease for the repeat too.
        restarted = deliveries_restart(
            campaign_id=campaign_id, token=token, ids=ids, lease_seconds=begun_lease_seconds()
        )
        return restarted == set(ids)

    def permit() -> None:
        if not still_ours():  # stopped during the refused call or the refresh: say so at once
            raise NoPermit(REPEAT_STOPPED)
        until = min(last_start, time.monotonic() + REPEAT_MAX_WAIT_SECONDS)
        while _permit(limiter, key, limits, until, lease):
            if limiter.held_for(key) > 0:
                continue
            if not still_ours():
                raise NoPermit(REPEAT_STOPPED)
            return
        raise NoPermit(REPEAT_NO_PERMIT)

    return permit


def _quota_record(key: str, quota: QuotaInfo) -> None:
    """Keep the provider's own count for the provider status page."""
    ProviderQuota.objects.update_or_create(
        key=key,
        defaults={
            "limit": quota.limit,
            "remaining": quota.remaining,
            "resets_at": quota.resets_at,
            "seen_at": timezone.now(),
        },
    )


def _record_unknown(campaign_id, token, group, contents, recipients, attempts) -> None:
    deliveries_record(
        campaign_id=campaign_id,
        token=token,
        results=[
            SendResult(m.delivery_id, ResultStatus.UNKNOWN, code="internal_error") for m in group
        ],
        contents=contents,
        recipients=recipients,
        attempts=attempts,
    )


def _last_error(outcome: BatchOutcome) -> str:
    for result in outcome.results:
        if result.code or result.message:
            return ": ".join(p for p in (result.code, result.message) if p)
    return "no detail"


def _breaker_trips(campaign_id: int, outcome: BatchOutcome, throttled: bool) -> bool:
    """Count requests that failed as a whole; any other answer resets the count.

    A request fails as a whole when nothing in it was sent and either every message is to be
    retried or unknown (a timeout, a 5xx: counted whatever it says), or every message failed
    with one and the same error that is not about a recipient: one answer for the whole
    request, or one error shared by every message of a larger one. Permanent failures count
    on only while each repeats the error before it: the same refusal for request after
    request is about the campaign or the configuration and must not burn the whole audience,
    while recipients' own refusals (a chat that is gone), however many in a row, are not.
    """
    if throttled:
        return False
    statuses = {r.status for r in outcome.results}
    campaigns = Campaign.objects.filter(pk=campaign_id)
    if statuses <= {ResultStatus.RETRY, ResultStatus.UNKNOWN}:
        campaigns.update(consecutive_failures=F("consecutive_failures") + 1)
    elif (
        statuses == {ResultStatus.FAILED}
        and (outcome.whole_request or len(outcome.results) > 1)
        and len({(r.code, r.message) for r in outcome.results}) == 1
    ):
        error = _last_error(outcome)
        campaigns.update(
            consecutive_failures=Case(
                When(last_failure=error, then=F("consecutive_failures") + 1), default=Value(1)
            ),
            last_failure=error,
        )
    else:
        campaigns.exclude(consecutive_failures=0).update(consecutive_failures=0)
        return False
    count = campaigns.values_list("consecutive_failures", flat=True).first() or 0
    return count >= settings.VESTNIK_BREAKER_THRESHOLD


def _campaign_pause_for(campaign_id: int, reason: str) -> None:
    campaign_pause(campaign_id=campaign_id, reason=reason, user=None)
