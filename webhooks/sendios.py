"""Parse and normalise a Sendios omnichannel webhook body into events.

Sendios posts a JSON object whose numeric keys ("0", "1", ...) each hold one event; other keys
(`sign`) are not events. A JSON array of events and a single event object are accepted too.
Nothing here touches the database: bytes in, frozen values out.

A body that cannot be read at all raises `SendiosBodyError` with the reason. Otherwise each
event is judged by itself: a bad one becomes a `RejectedEvent` with its reason,
and the good ones in the same body are kept. Events of types we do not know (Sendios' email
webhooks share the URL) are kept under their own name, not rejected.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from notifications.db.storable import MAX_JSON_DEPTH, unstorable_character
from notifications.reasons import reason_encode

SMS_SENT = "sms_sent"
SMS_LOST = "sms_lost"
SMS_CLICK = "sms_click"
SMS_EVENT_TYPES = frozenset({SMS_SENT, SMS_LOST, SMS_CLICK})

# The limits of the columns these values land in (DeliveryEvent and Recipient).
MAX_EVENT_NAME = 32
MAX_CLIENT_USER_ID = 255
MAX_SMS_ID = 2**63 - 1
MAX_SENDIOS_ID = 2**31 - 1

# `ts` is when Sendios sent the callback. Sendios did not exist before 2000; a little clock skew
# ahead of ours is normal, a timestamp days ahead (milliseconds, say) is a mistake.
TS_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
TS_FUTURE_TOLERANCE = timedelta(days=1)


_EVENT_KEY = re.compile(r"[0-9]+")
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}(\.0*)?")


class SendiosBodyError(ValueError):
    """The body as a whole cannot be read as Sendios events; the message is the stored reason
    (`notifications.reasons`) saying why."""


@dataclass(frozen=True)
class SendiosEvent:
    """One event as we store it: its type, identity, the ids it links by, and its raw data.

    SMS events (`sms_sent`, `sms_lost`, `sms_click`) always carry `sms_id` and `ts`. Other
    event types keep only what identifies them; their `data` is the whole story.
    """

    type: str
    occurred_at: datetime
    data: dict[str, Any]
    sms_id: int | None = None
    ts: int | None = None
    link: str = ""
    client_user_id: str | None = None
    project_id: int | None = None
    template_id: int | None = None

    @property
    def is_sms(self) -> bool:
        return self.type in SMS_EVENT_TYPES

    @property
    def dedup_key(self) -> str:
        """A sha256 hex digest of the event's identity: equal for repeats of the same event.

        An SMS event is (`event`, `sms_id`, `ts`, `link`); other events are their whole JSON.
        """
        if self.is_sms:
            identity: list[Any] = ["sms", self.type, self.sms_id, self.ts, self.link]
        else:
            identity = ["other", self.data]
        return hashlib.sha256(_canonical(identity).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class RejectedEvent:
    """An event of the body that we refused, with the stored reason saying why."""

    reason: str
    type: str = ""


@dataclass(frozen=True)
class BodyItem:
    """One event position of a body and what it parsed into.

    `key` is where the body put it: "0", "1", ... in Sendios' object, the index in an array,
    or "" for a body that is a single event.
    """

    position: int
    key: str
    result: SendiosEvent | RejectedEvent


@dataclass(frozen=True)
class ParsedBody:
    """Every event position of a body, in the order they came."""

    items: tuple[BodyItem, ...]


def parse_body(body: bytes, *, received_at: datetime) -> ParsedBody:
    """Read a webhook body into events; raise `SendiosBodyError` if it holds none.

    `received_at` bounds how far in the future an event's `ts` may be.
    """
    document = _load_json(body)
    if isinstance(document, dict):
        if "event" in document:
            positions: list[tuple[str, Any]] = [("", document)]
        else:
            positions = [
                (key, value) for key, value in document.items() if _EVENT_KEY.fullmatch(key)
            ]
    elif isinstance(document, list):
        positions = [(str(index), value) for index, value in enumerate(document)]
    else:
        raise SendiosBodyError(reason_encode("webhook_body_not_events", kind=_kind(document)))
    if not any(isinstance(value, dict) for _, value in positions):
        raise SendiosBodyError(reason_encode("webhook_body_no_event"))
    return ParsedBody(
        tuple(
            BodyItem(position, key, _parse_event(value, received_at))
            for position, (key, value) in enumerate(positions)
        )
    )


def _load_json(body: bytes) -> Any:
    if not body.strip():
        raise SendiosBodyError(reason_encode("webhook_body_empty"))
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SendiosBodyError(reason_encode("webhook_body_not_utf8", position=exc.start)) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        # Some of json's messages end in "at", meant to be followed by a position.
        reason = exc.msg.removesuffix(" at")
        raise SendiosBodyError(
            reason_encode("webhook_body_not_json", reason=reason, line=exc.lineno, column=exc.colno)
        ) from None
    except RecursionError:
        raise SendiosBodyError(reason_encode("webhook_body_too_deep")) from None
    except _UnusableNumber as exc:
        raise SendiosBodyError(reason_encode("webhook_body_unusable", reason=str(exc))) from None
    except ValueError:
        # Python refuses to read integers of more than 4300 digits (sys.int_info).
        raise SendiosBodyError(reason_encode("webhook_body_long_number")) from None


class _UnusableNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _UnusableNumber(reason_encode("webhook_not_a_number", name=name))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _UnusableNumber(reason_encode("webhook_number_out_of_range", number=text[:40]))
    return value


def _parse_event(value: Any, received_at: datetime) -> SendiosEvent | RejectedEvent:
    if not isinstance(value, dict):
        return RejectedEvent(reason_encode("webhook_event_not_object", kind=_kind(value)))
    event_type = value.get("event")
    if event_type is None:
        return RejectedEvent(reason_encode("webhook_event_no_type"))
    if not isinstance(event_type, str) or not event_type.strip():
        return RejectedEvent(reason_encode("webhook_event_type_not_name", value=_show(event_type)))
    label = event_type[:MAX_EVENT_NAME] if _storable_text(event_type) else ""
    if len(event_type) > MAX_EVENT_NAME:
        return RejectedEvent(
            reason_encode("webhook_event_type_too_long", limit=MAX_EVENT_NAME), label
        )
    problem = _unstorable(value)
    if problem:
        return RejectedEvent(problem, label)
    try:
        if event_type in SMS_EVENT_TYPES:
            return _sms_event(event_type, value, received_at)
        return _other_event(event_type, value, received_at)
    except _FieldError as exc:
        return RejectedEvent(str(exc), label)


class _FieldError(ValueError):
    pass


def _sms_event(event_type: str, value: dict[str, Any], received_at: datetime) -> SendiosEvent:
    sms_id = _required_integer(value, "sms_id", MAX_SMS_ID)
    ts = _required_integer(value, "ts", None)
    return SendiosEvent(
        type=event_type,
        occurred_at=_moment(ts, received_at),
        data=value,
        sms_id=sms_id,
        ts=ts,
        link=_text(value, "link", None) or "",
        client_user_id=_text(value, "client_user_id", MAX_CLIENT_USER_ID, numbers=True),
        project_id=_optional_integer(value, "project_id", MAX_SENDIOS_ID),
        template_id=_optional_integer(value, "template_id", MAX_SENDIOS_ID),
    )


def _other_event(event_type: str, value: dict[str, Any], received_at: datetime) -> SendiosEvent:
    # Not ours to judge: keep it whole, dated by its `ts` when that is a usable time.
    try:
        occurred_at = _moment(_optional_integer(value, "ts", None), received_at)
    except _FieldError:
        occurred_at = received_at
    return SendiosEvent(type=event_type, occurred_at=occurred_at, data=value)


def _moment(ts: int | None, received_at: datetime) -> datetime:
    if ts is None:
        return received_at
    latest = received_at + TS_FUTURE_TOLERANCE
    if ts < TS_EARLIEST.timestamp() or ts > latest.timestamp():
        raise _FieldError(
            reason_encode(
                "webhook_event_ts_out_of_range",
                # As sent, not grouped as a count would be.
                ts=str(ts),
                earliest=f"{TS_EARLIEST:%Y-%m-%d}",
                latest=f"{latest:%Y-%m-%d}",
            )
        )
    return datetime.fromtimestamp(ts, tz=UTC)


def _required_integer(value: dict[str, Any], name: str, maximum: int | None) -> int:
    number = _optional_integer(value, name, maximum)
    if number is None:
        raise _FieldError(reason_encode("webhook_event_field_missing", name=name))
    return number


def _optional_integer(value: dict[str, Any], name: str, maximum: int | None) -> int | None:
    """A whole number from an int, an integral float or a decimal string; None if absent."""
    raw = value.get(name)
    if raw is None:
        return None
    number: int | None = None
    if isinstance(raw, bool):
        number = None
    elif isinstance(raw, int):
        number = raw
    elif isinstance(raw, float) and raw.is_integer():
        number = int(raw)
    elif isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw.strip()):
        number = int(raw.strip().split(".")[0])
    if number is None:
        raise _FieldError(
            reason_encode("webhook_event_field_not_integer", name=name, value=_show(raw))
        )
    if number < 0 or (maximum is not None and number > maximum):
        raise _FieldError(
            reason_encode("webhook_event_field_out_of_range", name=name, number=str(number))
        )
    return number


def _text(
    value: dict[str, Any], name: str, limit: int | None, *, numbers: bool = False
) -> str | None:
    raw = value.get(name)
    if raw is None:
        return None
    if numbers and isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise _FieldError(
            reason_encode("webhook_event_field_not_text", name=name, value=_show(raw))
        )
    if limit is not None and len(raw) > limit:
        raise _FieldError(reason_encode("webhook_event_field_too_long", name=name, limit=limit))
    return raw or None


def _unstorable(value: Any) -> str:
    """Why the event cannot be stored as JSON in every database we support ("" if it can).

    PostgreSQL refuses NUL characters and unpaired surrogates in text and JSON, and deep
    nesting recurses when serialised. Walked without recursion for the same reason.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return reason_encode("webhook_event_too_deep", depth=MAX_JSON_DEPTH)
        if isinstance(item, str):
            if not _storable_text(item):
                return reason_encode("webhook_event_text_unstorable")
        elif isinstance(item, dict):
            for key, child in item.items():
                if not _storable_text(key):
                    return reason_encode("webhook_event_key_unstorable")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return ""


def _storable_text(text: str) -> bool:
    return unstorable_character(text) is None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return reason_encode("json_boolean")
    if isinstance(value, int | float):
        return reason_encode("json_number")
    if isinstance(value, str):
        return reason_encode("json_string")
    if isinstance(value, list):
        return reason_encode("json_array")
    return reason_encode("json_object")


def _show(value: Any) -> str:
    """A short, safely printable rendering of a value for a rejection reason."""
    if isinstance(value, dict | list):
        return _kind(value)
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:57] + "..."
