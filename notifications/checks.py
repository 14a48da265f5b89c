"""System checks for provider settings that would otherwise fail only once a campaign runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .providers.base import ProviderConfigurationError
from .providers.bitrix24 import portal_url


@register()
def bitrix24_portal_url_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Refuse a BITRIX24_PORTAL_URL that the provider cannot use as it is (a path, plain http)."""
    if not str(settings.BITRIX24_PORTAL_URL or "").strip():
        return []
    try:
        portal_url()
    except ProviderConfigurationError as error:
        return [
            Error(
                f"{error}.",
                hint="Set BITRIX24_PORTAL_URL to https:// and the portal's host, nothing after it.",
                id="notifications.E001",
            )
        ]
    return []
