"""Idempotency-Key replays: a request repeated with the same key gets the first answer.

The API's writes that send or create (POST /messages/, a campaign's copy, content and test
send) answer through `idempotent_response`, which runs them through `idempotent_call`; the
periodic tick forgets answers past the replay window with `idempotency_records_purge`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import IdempotencyRecord, IntegrationKey

# The header as the schema documents it, on every operation that honours it.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Repeats within the replay window return the first answer.",
)


class IdempotencyMismatch(Exception):
    """An Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class IdempotentAnswer:
    """The answer to give: `replayed` when it is the stored answer of an earlier request."""

    status_code: int
    body: Any
    replayed: bool


def idempotent_call(
    *,
    owner: str,
    key: str,
    fingerprint: str,
    action: Callable[[], tuple[int, Any]],
    ttl: timedelta,
) -> IdempotentAnswer:
    """Run `action` once per (owner, key) within `ttl`; repeats get the first answer.

    The record is inserted first, in the same transaction as the action's writes: a concurrent
    request with the same key blocks on the unique constraint until this one commits, then
    finds the stored answer, so two identical requests never both send. If the action raises,
    the record rolls back with everything else and the key may be used again.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.select_for_update().get(owner=owner, key=key)
            if record.created_at >= timezone.now() - ttl and record.status_code is not None:
                if record.fingerprint != fingerprint:
                    raise IdempotencyMismatch(
                        _(
                            "This Idempotency-Key was used with a different request; "
                            "use a new key for a new request."
                        )
                    ) from None
                return IdempotentAnswer(record.status_code, record.response, replayed=True)
            # Expired: the key starts a new request.
            record.fingerprint = fingerprint
            record.created_at = timezone.now()
        status_code, body = action()
        record.status_code = status_code
        record.response = body
        record.save()
    return IdempotentAnswer(status_code, body, replayed=False)


def idempotency_records_purge(*, older_than: timedelta) -> int:
    """Forget answers older than the replay window; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def idempotent_response(request: Request, action: Callable[[], tuple[int, Any]]) -> Response:
    """The answer of `action` (status and body), run once per the request's Idempotency-Key:
    a repeat within `API_IDEMPOTENCY_HOURS` gets the first answer, marked
    `Idempotent-Replayed: true`. Without the header, `action` simply runs."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        status_code, body = action()
        return Response(body, status=status_code)
    if len(key) > 255:
        raise serializers.ValidationError(
            {"Idempotency-Key": [_("Ensure this header has no more than 255 characters.")]}
        )
    answer = idempotent_call(
        owner=_owner(request),
        key=key,
        fingerprint=_fingerprint(request),
        action=action,
        ttl=timedelta(hours=settings.API_IDEMPOTENCY_HOURS),
    )
    response = Response(answer.body, status=answer.status_code)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _owner(request: Request) -> str:
    if isinstance(request.auth, IntegrationKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request: Request) -> str:
    # Parsed and re-serialised with sorted keys: the same JSON with other spacing is the same.
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
