"""Outcomes: what a provider's answer makes of each delivery, and the history it leaves.

A result is stored only on a delivery that still carries the claim of the worker that sent it,
in one bulk UPDATE with the counters and the delivery events in the same transaction.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notifications.providers.values import Content, ResultStatus, SendResult
from notifications.reasons import reason_encode

from ..db.bulk import bulk_insert, bulk_update, db_json, db_timestamp
from ..models import Delivery, DeliveryEvent
from .claims import commit_without_flush, token_value
from .counters import counters_add
from .history import ON_REQUEST, events_unwanted

logger = logging.getLogger(__name__)

Status = Delivery.Status


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: exponential backoff with jitter."""
    base = settings.VESTNIK_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)
    capped = min(settings.VESTNIK_RETRY_MAX_SECONDS, base)
    # "Equal jitter": never less than half the delay, so retries spread without bunching early.
    return capped / 2 + random.uniform(0, capped / 2)  # noqa: S311 - not for security


@dataclass(frozen=True)
class StatusChange:
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
    content_version: int | None = None,
) -> Counter:
    """Store each result on its delivery, if the delivery still carries this claim.

    `content_version` is the campaign's content version the results were rendered from: each
    delivery keeps it, so a retry can tell the failures of an old message from a current one's.

    `throttled` means the provider refused the whole request because of its rate limit: the
    deliveries go back to pending for the time it named without using up an attempt.
    Returns how many deliveries reached each status.
    """
    now = timezone.now()
    max_attempts = settings.VESTNIK_MAX_ATTEMPTS
    responses = {r.delivery_id: r.response for r in results}
    rows: list[StatusChange] = []
    for result in results:
        detail = ": ".join(part for part in (result.code, result.message) if part)
        if result.status == ResultStatus.SENT:
            rows.append(
                StatusChange(result.delivery_id, Status.SENT, DeliveryEvent.Type.SENT, detail)
            )
        elif result.status == ResultStatus.FAILED:
            rows.append(
                StatusChange(result.delivery_id, Status.FAILED, DeliveryEvent.Type.FAILED, detail)
            )
        elif result.status == ResultStatus.UNKNOWN:
            rows.append(
                StatusChange(result.delivery_id, Status.UNKNOWN, DeliveryEvent.Type.UNKNOWN, detail)
            )
        elif throttled:
            rows.append(
                StatusChange(
                    result.delivery_id,
                    Status.PENDING,
                    DeliveryEvent.Type.RETRY_SCHEDULED,
                    reason_encode("provider_limit_detail", detail=detail)
                    if detail
                    else reason_encode("provider_limit"),
                    next_attempt_at=result.retry_at or now,
                    attempts_back=1,
                )
            )
        else:
            made = attempts.get(result.delivery_id, 0)
            if made >= max_attempts:
                rows.append(
                    StatusChange(
                        result.delivery_id,
                        Status.FAILED,
                        DeliveryEvent.Type.FAILED,
                        reason_encode("gave_up", count=made, detail=detail),
                    )
                )
                continue
            later = now + timedelta(seconds=retry_delay(made))
            if result.retry_at and result.retry_at > later:
                later = result.retry_at
            rows.append(
                StatusChange(
                    result.delivery_id,
                    Status.PENDING,
                    DeliveryEvent.Type.RETRY_SCHEDULED,
                    detail,
                    next_attempt_at=later,
                )
            )
    return _store(
        campaign_id=campaign_id,
        token=token,
        rows=rows,
        contents=contents,
        responses=responses,
        recipients=recipients,
        attempts=attempts,
        content_version=content_version,
        now=now,
    )


def deliveries_skip(
    *,
    campaign_id: int,
    token: uuid.UUID,
    reasons: Mapping[int, str],
    recipients: dict[int, int],
    attempts: dict[int, int],
) -> Counter:
    """Skip this claim's deliveries in `reasons` (id -> why) without any request: `skipped`,
    with the reason on the row and in its history."""
    rows = [
        StatusChange(pk, Status.SKIPPED, DeliveryEvent.Type.SKIPPED, reason)
        for pk, reason in sorted(reasons.items())
    ]
    return _store(
        campaign_id=campaign_id,
        token=token,
        rows=rows,
        contents={},
        responses={},
        recipients=recipients,
        attempts=attempts,
        content_version=None,
        now=timezone.now(),
    )


def _store(
    *,
    campaign_id: int,
    token: uuid.UUID,
    rows: Sequence[StatusChange],
    contents: dict[int, Content],
    responses: dict[int, Any],
    recipients: dict[int, int],
    attempts: dict[int, int],
    content_version: int | None,
    now: datetime,
) -> Counter:
    """Store the `rows` on deliveries still carrying this claim, with their counters and
    events, in one transaction; returns how many reached each status."""
    # Many rows share one content (an unpersonalised message) and one response (a whole
    # request's answer): each is turned into JSON once.
    content_json = _json_once(
        (contents[r.delivery_id] for r in rows if r.delivery_id in contents), Content.as_dict
    )
    response_json = _json_once(responses.values())
    stamp = db_timestamp(now)
    quote = connection.ops.quote_name
    where = f"{quote('claim_token')} = %s AND {quote('status')} = %s"
    reached: Counter = Counter()
    with transaction.atomic():
        commit_without_flush()
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
                        response_json[id(responses[row.delivery_id])]
                        if row.delivery_id in responses
                        else None,
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
                    **({} if content_version is None else {"content_version": content_version}),
                },
                where=where,
                params=[token_value(token), Status.SENDING],
            )
        )
        kept = [row for row in rows if row.delivery_id in updated]
        reached.update(row.status for row in kept)
        deltas = Counter(reached)
        deltas[Status.SENDING] -= len(kept)
        counters_add(campaign_id=campaign_id, deltas=deltas)
        events_add(campaign_id, kept, recipients, now)
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


def events_add(
    campaign_id: int, rows: Sequence[StatusChange], recipients: dict[int, int], now: datetime
) -> None:
    """Record each change in the deliveries' history (their `DeliveryEvent` rows), but for
    those of a type no reader wants now (`history.ON_REQUEST`)."""
    if any(row.event in ON_REQUEST for row in rows):
        unwanted = events_unwanted()
        rows = [row for row in rows if row.event not in unwanted]
    if not rows:
        return
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
