"""Ingest Sendios callbacks: store the request first, then parse, deduplicate, link and count.

The inbox row is written (and committed) before anything is parsed, so whatever happens next the
body is kept. Processing is one transaction: look up recipients, campaigns and deliveries for
the whole body at once, insert its events with `INSERT ... ON CONFLICT (dedup_key) DO NOTHING
RETURNING`, and record what became of every event. Two deliveries of the same body, at once or
years apart, store each event once; the second is told they were duplicates.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.campaigns.sms import SmsOrigin, sms_links_find
from notifications.db.bulk import bulk_insert_objects
from notifications.models import DeliveryEvent
from notifications.reasons import reason_encode, reason_english, reason_text

from .models import InboundEvent, InboundWebhook
from .redaction import TOKEN_PARAMETER
from .sendios import RejectedEvent, SendiosBodyError, SendiosEvent, parse_body

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Only these request headers are kept with a body: enough to tell senders and proxies apart.
# Never Authorization or Cookie, which carry credentials.
STORED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "User-Agent",
    "X-Forwarded-For",
    "X-Real-Ip",
    "X-Request-Id",
)
MAX_HEADER_VALUE = 1000
# Why a body could not be read, in the server's words, cut to this many characters.
MAX_READ_ERROR = 200

# The answer lists at most this many rejection reasons; the count covers them all.
MAX_REPORTED_REJECTIONS = 100

LOOKUP_CHUNK = 400


@dataclass(frozen=True)
class Rejection:
    """One refused event: its key in the body and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class WebhookReceipt:
    """What became of one inbound request: the answer the sender gets, and the inbox row's."""

    inbound_id: int
    status: str
    error: str = ""
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: tuple[Rejection, ...] = ()


class NotReprocessable(Exception):
    """This inbox row cannot be processed again; the message says why."""


def sms_webhook_max_body_bytes() -> int:
    """The largest body the SMS endpoint accepts (setting `SMS_WEBHOOK_MAX_BODY_BYTES`)."""
    return int(getattr(settings, "SMS_WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def sms_webhook_receive(
    *,
    body: bytes,
    headers: Mapping[str, str],
    query_string: str = "",
    remote_addr: str | None = None,
) -> WebhookReceipt:
    """Keep an authenticated Sendios request in the inbox, then turn its body into events.

    The inbox row is committed first. A body that holds no events is `rejected` with the
    reason; otherwise it is `processed` with its counts. If processing itself fails (our fault),
    the row is marked `failed` and the exception propagates, so the sender gets a 500 and
    retries.
    """
    inbound = InboundWebhook.objects.create(
        body=body, body_size=len(body), **_request_fields(headers, query_string, remote_addr)
    )
    try:
        with transaction.atomic():
            return _process(inbound, previously_accepted=frozenset())
    except Exception as exc:
        InboundWebhook.objects.filter(pk=inbound.pk).update(
            status=InboundWebhook.Status.FAILED,
            error=reason_encode(
                "webhook_processing_failed", kind=type(exc).__name__, error=str(exc)[:2000]
            ),
            processed_at=timezone.now(),
        )
        raise


def sms_webhook_refuse_oversized(
    *,
    size: int | None,
    limit: int,
    headers: Mapping[str, str],
    query_string: str = "",
    remote_addr: str | None = None,
) -> WebhookReceipt:
    """Record that a body larger than `limit` bytes was refused, keeping none of it.

    `size` is the length the sender declared, or None for a body sent without one (chunked),
    refused once more than `limit` bytes of it arrived. Keeping part of a body would look like
    a body that does not parse; the row says what happened, who sent it and how big it was.
    """
    if size is None:
        error = reason_encode("webhook_body_too_large", limit=limit)
        size = limit + 1
    else:
        error = reason_encode("webhook_body_too_large_sized", size=size, limit=limit)
    return _refuse(error, size, _request_fields(headers, query_string, remote_addr))


def sms_webhook_refuse_unreadable(
    *,
    reason: str,
    headers: Mapping[str, str],
    query_string: str = "",
    remote_addr: str | None = None,
) -> WebhookReceipt:
    """Record that a body could not be read to its end (`reason`: broken chunked framing, say).

    What arrived before the break is not kept, for the same reason as an oversized body's.
    """
    error = reason_encode("webhook_body_unreadable", reason=_printable(reason)[:MAX_READ_ERROR])
    return _refuse(error, 0, _request_fields(headers, query_string, remote_addr))


def _refuse(error: str, size: int, request_fields: Mapping[str, object]) -> WebhookReceipt:
    inbound = InboundWebhook.objects.create(
        body=b"",
        body_size=size,
        status=InboundWebhook.Status.REJECTED,
        error=error,
        processed_at=timezone.now(),
        **request_fields,
    )
    logger.warning("SMS webhook #%s refused: %s", inbound.pk, reason_english(error))
    return WebhookReceipt(inbound.pk, InboundWebhook.Status.REJECTED, error=error)


def inbound_webhook_reprocess(*, inbound_id: int) -> WebhookReceipt:
    """Parse a stored body again, for instance after a parser fix; safe to repeat.

    Events already stored are not stored twice. Those this body had produced stay `accepted`;
    only events another request delivered first count as duplicates.
    """
    with transaction.atomic():
        inbound = InboundWebhook.objects.select_for_update().get(pk=inbound_id)
        if len(inbound.body) != inbound.body_size:
            raise NotReprocessable(
                _("Inbound webhook #%(id)s kept no body to process: %(error)s")
                % {"id": inbound_id, "error": reason_text(inbound.error)}
            )
        previously_accepted = frozenset(
            inbound.events.filter(outcome=InboundEvent.Outcome.ACCEPTED).values_list(
                "position", flat=True
            )
        )
        inbound.events.all().delete()
        return _process(inbound, previously_accepted=previously_accepted)


def _process(inbound: InboundWebhook, *, previously_accepted: frozenset[int]) -> WebhookReceipt:
    """Parse, store and record one body. The caller holds the transaction."""
    now = timezone.now()
    try:
        parsed = parse_body(bytes(inbound.body), received_at=inbound.received_at)
    except SendiosBodyError as exc:
        _finish(inbound, InboundWebhook.Status.REJECTED, now, error=str(exc))
        logger.warning("SMS webhook #%s rejected: %s", inbound.pk, reason_english(str(exc)))
        return WebhookReceipt(inbound.pk, InboundWebhook.Status.REJECTED, error=str(exc))

    keys = {
        item.position: item.result.dedup_key
        for item in parsed.items
        if isinstance(item.result, SendiosEvent)
    }
    first_of: dict[str, SendiosEvent] = {}
    for item in parsed.items:
        if item.position in keys:
            first_of.setdefault(keys[item.position], item.result)
    inserted = _store_events(first_of, now)
    missing = [key for key in first_of if key not in inserted]
    stored_before = _event_ids(missing)

    records = []
    rejections = []
    claimed: set[str] = set()
    counts = dict.fromkeys(InboundEvent.Outcome, 0)
    for item in parsed.items:
        result = item.result
        record = InboundEvent(inbound=inbound, position=item.position, key=item.key)
        if isinstance(result, RejectedEvent):
            record.outcome = InboundEvent.Outcome.REJECTED
            record.type = result.type
            record.reason = result.reason
            rejections.append(Rejection(item.key, result.reason))
        else:
            key = keys[item.position]
            record.type = result.type
            if key in inserted and key not in claimed:
                claimed.add(key)
                record.outcome = InboundEvent.Outcome.ACCEPTED
            elif item.position in previously_accepted:
                record.outcome = InboundEvent.Outcome.ACCEPTED
            else:
                record.outcome = InboundEvent.Outcome.DUPLICATE
            record.delivery_event_id = inserted.get(key) or stored_before.get(key)
        counts[record.outcome] += 1
        records.append(record)
    bulk_insert_objects(InboundEvent, records)

    receipt = WebhookReceipt(
        inbound.pk,
        InboundWebhook.Status.PROCESSED,
        accepted=counts[InboundEvent.Outcome.ACCEPTED],
        duplicates=counts[InboundEvent.Outcome.DUPLICATE],
        rejected=counts[InboundEvent.Outcome.REJECTED],
        rejections=tuple(rejections[:MAX_REPORTED_REJECTIONS]),
    )
    _finish(
        inbound,
        receipt.status,
        now,
        accepted=receipt.accepted,
        duplicates=receipt.duplicates,
        rejected=receipt.rejected,
    )
    return receipt


def _finish(
    inbound: InboundWebhook,
    status: str,
    now: datetime,
    *,
    error: str = "",
    accepted: int = 0,
    duplicates: int = 0,
    rejected: int = 0,
) -> None:
    InboundWebhook.objects.filter(pk=inbound.pk).update(
        status=status,
        error=error,
        accepted=accepted,
        duplicates=duplicates,
        rejected=rejected,
        processed_at=now,
    )


def _store_events(events: Mapping[str, SendiosEvent], now: datetime) -> dict[str, int]:
    """Insert the events not stored yet, linked where possible; their keys and new ids."""
    sms_keys = [key for key, event in events.items() if event.is_sms]
    links = dict(
        zip(
            sms_keys,
            sms_links_find(
                origins=[
                    SmsOrigin(
                        client_user_id=events[key].client_user_id,
                        project_id=events[key].project_id,
                        template_id=events[key].template_id,
                        occurred_at=events[key].occurred_at,
                    )
                    for key in sms_keys
                ]
            ),
            strict=True,
        )
    )
    rows = []
    # In key order, so concurrent requests lock the unique index in the same order and never
    # deadlock each other.
    for key in sorted(events):
        event = events[key]
        link = links.get(key)
        rows.append(
            DeliveryEvent(
                type=event.type,
                occurred_at=event.occurred_at,
                created_at=now,
                data=event.data,
                sms_id=event.sms_id,
                link=event.link,
                sendios_user_id=event.client_user_id or "",
                sendios_project_id=event.project_id,
                sendios_template_id=event.template_id,
                dedup_key=key,
                recipient_id=link.recipient_id if link else None,
                campaign_id=link.campaign_id if link else None,
                delivery_id=link.delivery_id if link else None,
            )
        )
    return _insert_new(rows)


def _insert_new(rows: Sequence[DeliveryEvent]) -> dict[str, int]:
    """`INSERT ... ON CONFLICT (dedup_key) DO NOTHING RETURNING`: the keys actually inserted,
    with their new ids."""
    return dict(
        bulk_insert_objects(
            DeliveryEvent, rows, conflict=["dedup_key"], returning=["dedup_key", "id"]
        )
    )


def _event_ids(keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        found.update(
            DeliveryEvent.objects.filter(
                dedup_key__in=keys[start : start + LOOKUP_CHUNK]
            ).values_list("dedup_key", "pk")
        )
    return found


def _request_fields(
    headers: Mapping[str, str], query_string: str, remote_addr: str | None
) -> dict[str, object]:
    by_name = {name.lower(): value for name, value in headers.items()}
    kept = {
        name: _printable(by_name[name.lower()])[:MAX_HEADER_VALUE]
        for name in STORED_HEADERS
        if name.lower() in by_name
    }
    return {
        "content_type": kept.get("Content-Type", "")[:255],
        "headers": kept,
        "query_string": _without_token(query_string),
        "remote_addr": _ip_address(remote_addr),
    }


def _without_token(query_string: str) -> str:
    # The token is a credential: it must not be kept, whatever else the sender put there.
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return _printable(
        urlencode([(name, value) for name, value in pairs if name != TOKEN_PARAMETER])
    )


def _printable(text: str) -> str:
    """Text any database can store: no NUL characters, no unpaired surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _ip_address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None
