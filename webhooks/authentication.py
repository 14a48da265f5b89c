"""Authentication of inbound webhooks by a shared secret of ours.

Sendios' own `sign` is not documented, so we authenticate the endpoint ourselves: the sender
presents one of `settings.SMS_WEBHOOK_SECRETS` as the password of HTTP Basic credentials (any
user name), or as the `token` query parameter for senders that cannot do Basic. Several
secrets may be configured at once so one can be rotated without downtime. With none configured
every request is refused (and a system check says so).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .redaction import TOKEN_PARAMETER

REALM = "vestnik-webhooks"


class WebhookSender:
    """The authenticated party of a webhook request: a sender holding one of our secrets."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __str__(self) -> str:
        return "webhook sender"


def sms_webhook_secrets() -> list[str]:
    """The configured secrets, blanks left out: an empty secret must never match."""
    configured = getattr(settings, "SMS_WEBHOOK_SECRETS", None) or []
    return [secret.strip() for secret in configured if secret and secret.strip()]


def secret_matches(candidates: Iterable[str], secrets: Iterable[str]) -> bool:
    """Whether any candidate equals any secret, in time independent of where they differ.

    Both sides are hashed first so the comparison is of equal-length digests: neither a
    secret's length nor which secret matched shows in the timing, and every pair is compared.
    """
    secret_digests = [_digest(secret) for secret in secrets]
    matched = False
    for candidate in candidates:
        digest = _digest(candidate)
        for secret_digest in secret_digests:
            matched |= hmac.compare_digest(digest, secret_digest)
    return matched


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class SmsWebhookSecretAuthentication(BaseAuthentication):
    """HTTP Basic password or `token` query parameter equal to one of our webhook secrets."""

    def authenticate(self, request: Request) -> tuple[WebhookSender, None] | None:
        presented, candidates = _presented_credentials(request)
        if not presented:
            return None
        if secret_matches(candidates, sms_webhook_secrets()):
            return WebhookSender(), None
        # The same words whatever was wrong: nothing here may hint at the secrets.
        raise exceptions.AuthenticationFailed(_("Invalid webhook credentials."))

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'


def _presented_credentials(request: Request) -> tuple[bool, list[str]]:
    """Whether the request presents credentials at all, and the secrets it presents."""
    candidates = list(request.query_params.getlist(TOKEN_PARAMETER))
    presented = bool(candidates)
    scheme, _, encoded = get_authorization_header(request).partition(b" ")
    if scheme.lower() == b"basic":
        presented = True
        password = _basic_password(encoded.strip())
        if password is not None:
            candidates.append(password)
    return presented, candidates


def _basic_password(encoded: bytes) -> str | None:
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        text = decoded.decode("latin-1")
    _user, colon, password = text.partition(":")
    return password if colon else None
