"""The project's side of the providers: Bitrix24's tokens in the database, and providers built
with them. Providers themselves never touch the database; this module hands them what they need.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from .models import Bitrix24Token, Channel
from .providers.base import Provider
from .providers.bitrix24 import NOT_CONNECTED, Tokens
from .providers.exceptions import ProviderConfigurationError
from .providers.registry import get_provider, provider_status


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
                raise ProviderConfigurationError(NOT_CONNECTED)
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


def _token_store(channel: str) -> DatabaseTokenStore | None:
    return DatabaseTokenStore(bitrix24_portal()) if channel == Channel.BITRIX24 else None


def build_provider(channel: str) -> Provider:
    """The provider for `channel`; raises ProviderConfigurationError naming what is missing."""
    return get_provider(channel, token_store=_token_store(channel))


def channel_status(channel: str) -> tuple[bool, str]:
    """(configured, reason): whether campaigns can go out on `channel` now."""
    return provider_status(channel, token_store=_token_store(channel))
