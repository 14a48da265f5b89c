"""Delivering messages: the oldest of each stream, signed, at most one in flight per stream.

A message is claimed before its request (`claimed_until`), so a pump that dies mid-request
leaves it to be sent again once the claim runs out: at least once, never lost. A failure is
tried again with exponential backoff and jitter until `OUTBOUND_WEBHOOK_RETRY_SECONDS` after
its first attempt, then marked failed and the stream goes on. An endpoint that has not had one
success for `OUTBOUND_WEBHOOK_DISABLE_SECONDS` is disabled, and the reason kept for staff.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from notifications.reasons import reason_encode

from .http import Refused, post
from .models import Endpoint, Message
from .signing import signed_headers

# How long a claimed message is someone's: the longest request, and a margin.
CLAIM_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None
    answer: str


def due_heads(*, now: datetime, limit: int) -> list[Message]:
    """The oldest pending message of each stream of an active endpoint, when it is due and
    nobody holds it: what may be sent now, oldest first."""
    earlier = Message.objects.filter(
        endpoint=OuterRef("endpoint"),
        stream=OuterRef("stream"),
        status=Message.Status.PENDING,
        id__lt=OuterRef("id"),
    )
    return list(
        Message.objects.filter(status=Message.Status.PENDING, endpoint__is_active=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(~Exists(earlier))
        .select_related("endpoint")
        .order_by("id")[:limit]
    )


def _claimed(messages: list[Message], now: datetime) -> list[Message]:
    until = now + timedelta(seconds=settings.OUTBOUND_WEBHOOK_TIMEOUT + CLAIM_MARGIN_SECONDS)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return [
        message
        for message in messages
        if Message.objects.filter(free, pk=message.pk, status=Message.Status.PENDING).update(
            claimed_until=until
        )
    ]


def attempt(message: Message) -> Outcome:
    """One request for `message` (no database access: it runs on a thread)."""
    body = message.body.encode()
    headers = signed_headers(message.endpoint.secret, body, message_id=message.pk)
    try:
        answer = post(
            message.endpoint.url, body, headers, timeout=settings.OUTBOUND_WEBHOOK_TIMEOUT
        )
    except Refused as exc:
        return Outcome(False, None, reason_encode("not_requested", reason=str(exc)))
    except (urllib3.exceptions.HTTPError, OSError, UnicodeError, ValueError) as exc:
        # Whatever a URL staff typed does to the request (no connection, a timeout, a bad
        # certificate, a host name IDNA cannot encode), it is this message's failure, told to
        # staff, never the pump's: the other endpoints' messages go on.
        error = f"{type(exc).__name__}: {exc}"[:480]
        return Outcome(False, None, reason_encode("no_answer", error=error))
    if 300 <= answer.status < 400:
        return Outcome(
            False,
            answer.status,
            reason_encode("redirect_not_followed", answer=answer.text),
        )
    return Outcome(200 <= answer.status < 300, answer.status, answer.text)


def backoff_seconds(attempts: int) -> float:
    """The wait before attempt `attempts + 1`: doubling from the base up to the cap, then a
    random share of it (between half and all), so endpoints that failed together do not all
    come back in the same second."""
    ceiling = min(
        settings.OUTBOUND_WEBHOOK_RETRY_MAX_SECONDS,
        settings.OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1),
    )
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - spreading retries, no secret


def outcome_record(message: Message, outcome: Outcome, *, now: datetime) -> None:
    """Keep what happened to `message`, and what it says about its endpoint."""
    first = message.first_attempt_at or now
    fields = {
        "attempts": message.attempts + 1,
        "first_attempt_at": first,
        "last_attempt_at": now,
        "last_status_code": outcome.status_code,
        "last_answer": outcome.answer,
        "claimed_until": None,
    }
    if outcome.delivered:
        fields.update(status=Message.Status.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif now - first >= timedelta(seconds=settings.OUTBOUND_WEBHOOK_RETRY_SECONDS):
        fields.update(status=Message.Status.FAILED, next_attempt_at=None)
    else:
        wait = backoff_seconds(message.attempts + 1)
        fields["next_attempt_at"] = now + timedelta(seconds=wait)
    with transaction.atomic():
        recorded = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(
            **fields
        )
        if recorded:
            _endpoint_health(message.endpoint_id, outcome, now=now)


def _endpoint_health(endpoint_id: int, outcome: Outcome, *, now: datetime) -> None:
    if outcome.delivered:
        Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(
            failing_since=None
        )
        return
    Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    window = timedelta(seconds=settings.OUTBOUND_WEBHOOK_DISABLE_SECONDS)
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    if endpoint.is_active and endpoint.failing_since <= now - window:
        endpoint.is_active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = reason_encode(
            "endpoint_failing",
            span=_span(now - endpoint.failing_since),
            answer=outcome.answer or str(outcome.status_code),
        )
        endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])


def _span(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours >= 1:
        return reason_encode("span_hours", hours=f"{hours:.0f}")
    return reason_encode("span_minutes", minutes=f"{span.total_seconds() / 60:.0f}")


def messages_send_due(*, now: datetime | None = None) -> int:
    """Send what is due now, up to `OUTBOUND_WEBHOOK_CONCURRENCY` requests at once; how many."""
    now = now or timezone.now()
    heads = _claimed(due_heads(now=now, limit=settings.OUTBOUND_WEBHOOK_CONCURRENCY), now)
    if not heads:
        return 0
    with ThreadPoolExecutor(max_workers=len(heads)) as pool:
        outcomes = list(pool.map(attempt, heads))
    finished = timezone.now()
    for message, outcome in zip(heads, outcomes, strict=True):
        outcome_record(message, outcome, now=finished)
    return len(heads)
