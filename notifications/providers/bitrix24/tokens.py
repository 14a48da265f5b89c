"""Where Bitrix24's OAuth tokens live: one pair per portal, refreshed once for all workers.

Access tokens live an hour and every refresh hands out a new refresh token, so whoever refreshes
must save the new pair before anyone else uses the old refresh token. `DatabaseTokenStore` keeps
the pair in the database under a row lock; `MemoryTokenStore` is its stand-in for tests and
scripts. The provider only ever sees the `TokenStore` protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from notifications.models import Bitrix24Token
from notifications.reasons import SENTENCES, reason_encode

from ..exceptions import ProviderConfigurationError

# As staff read it now (the admin's status), and as a send that finds no tokens stores it.
NOT_CONNECTED = SENTENCES["bitrix24_not_connected"]
NOT_CONNECTED_STORED = reason_encode("bitrix24_not_connected")


@dataclass(frozen=True)
class Tokens:
    """An OAuth token pair. The tokens are left out of repr so they never reach a log."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None = None


class TokenStore(Protocol):
    """Where Bitrix24 tokens live (the database in production). Shared by every worker.

    `refresh` must run under a lock shared by all workers (a row lock in the database): if the
    stored access token is no longer `expired_access_token`, another worker already refreshed,
    and the stored tokens are returned as they are. Otherwise it calls `do_refresh` with the
    stored refresh token, saves what it returns (the new refresh token replaces the old one) and
    returns it. An exception from `do_refresh` leaves the stored tokens untouched.
    """

    def get(self) -> Tokens | None:
        """The stored tokens, or None when the app was never connected."""
        ...

    def refresh(self, expired_access_token: str, do_refresh: Callable[[str], Tokens]) -> Tokens:
        """Refresh once for all workers; see the class docstring."""
        ...


class MemoryTokenStore:
    """A thread-safe TokenStore in memory: for tests and one-off scripts."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._lock = threading.Lock()
        self._tokens = tokens

    def get(self) -> Tokens | None:
        with self._lock:
            return self._tokens

    def save(self, tokens: Tokens) -> None:
        with self._lock:
            self._tokens = tokens

    def refresh(self, expired_access_token: str, do_refresh: Callable[[str], Tokens]) -> Tokens:
        with self._lock:
            if self._tokens is None:
                raise ProviderConfigurationError(NOT_CONNECTED_STORED)
            if self._tokens.access_token != expired_access_token:
                return self._tokens
            self._tokens = do_refresh(self._tokens.refresh_token)
            return self._tokens


def bitrix24_portal() -> str:
    """The portal's host name: the key its tokens are stored under."""
    url = settings.BITRIX24_PORTAL_URL
    return urlsplit(url if "//" in url else f"https://{url}").hostname or ""


class DatabaseTokenStore:
    """Bitrix24 tokens in the database, refreshed under a row lock shared by every worker.

    Refresh tokens rotate: whoever refreshes must save the new pair before anyone else uses the
    old refresh token, which the lock guarantees. The refresh request runs while the lock is
    held; it happens about once an hour.
    """

    def __init__(self, portal: str) -> None:
        self.portal = portal

    def get(self) -> Tokens | None:
        row = Bitrix24Token.objects.filter(portal=self.portal).first()
        return _tokens(row) if row else None

    def save(self, tokens: Tokens) -> None:
        Bitrix24Token.objects.update_or_create(
            portal=self.portal,
            defaults={
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_at": tokens.expires_at,
            },
        )

    def refresh(self, expired_access_token: str, do_refresh: Callable[[str], Tokens]) -> Tokens:
        with transaction.atomic():
            row = Bitrix24Token.objects.select_for_update().filter(portal=self.portal).first()
            if row is None:
                raise ProviderConfigurationError(NOT_CONNECTED_STORED)
            if row.access_token != expired_access_token:
                return _tokens(row)
            fresh = do_refresh(row.refresh_token)
            row.access_token = fresh.access_token
            row.refresh_token = fresh.refresh_token
            row.expires_at = fresh.expires_at
            row.save(update_fields=["access_token", "refresh_token", "expires_at", "updated_at"])
            return fresh


def _tokens(row: Bitrix24Token) -> Tokens:
    return Tokens(row.access_token, row.refresh_token, row.expires_at)
