"""System checks for provider settings that would otherwise fail only once a campaign runs.

The send task's own check lives with it, in `notifications.sending.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register
from django.utils.translation import gettext

from notifications.providers.bitrix24.oauth import portal_url
from notifications.providers.exceptions import ProviderConfigurationError


@register()
def bitrix24_portal_url_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Say when BITRIX24_PORTAL_URL is one the provider refuses (a path, plain http).

    A warning, not an error: an error would stop every command that runs the checks (each
    qcluster worker, migrate), and so every channel, over one provider's setting. The provider
    refuses the URL itself, so Bitrix24 campaigns pause with the same sentence, and
    `check --deploy --fail-level WARNING` fails a deployment.
    """
    if not str(settings.BITRIX24_PORTAL_URL or "").strip():
        return []
    try:
        portal_url()
    except ProviderConfigurationError as error:
        return [
            Warning(
                f"{error}.",
                hint=gettext(
                    "Set BITRIX24_PORTAL_URL to https:// and the portal's host, nothing after it."
                ),
                id="notifications.W001",
            )
        ]
    return []
