"""How a request is signed, and how a receiver checks it (the README shows the same in a few
lines of its own).

`Vestnik-Signature: v1=<hex>` where hex is HMAC-SHA256 with the endpoint's secret over
`<Vestnik-Timestamp>.<body>`: the timestamp (Unix seconds) is signed with the body, so a request
captured once cannot be replayed later with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Vestnik-Signature"
TIMESTAMP_HEADER = "Vestnik-Timestamp"
MESSAGE_HEADER = "Vestnik-Message-Id"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def signed_headers(secret: str, body: bytes, *, message_id: int, now: float | None = None) -> dict:
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        MESSAGE_HEADER: str(message_id),
    }


def signature_valid(
    secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, ""))
