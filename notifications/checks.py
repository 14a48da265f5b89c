"""System checks for settings that would otherwise fail only once a campaign runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from .providers.bitrix24.oauth import portal_url
from .providers.exceptions import ProviderConfigurationError
from .tasks import MIN_SEND_BUDGET_SECONDS, SEND_MARGIN_SECONDS, send_budget_unclamped


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
                hint="Set BITRIX24_PORTAL_URL to https:// and the portal's host, nothing after it.",
                id="notifications.W001",
            )
        ]
    return []


@register()
def send_task_time_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Q_TIMEOUT must leave a send task room for at least one provider request.

    Below that, every send task would run out of time at its first wait for a permit, hand
    over to the next, and the campaign would crawl.
    """
    if send_budget_unclamped() >= MIN_SEND_BUDGET_SECONDS:
        return []
    slowest = settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT
    needed = slowest + SEND_MARGIN_SECONDS + MIN_SEND_BUDGET_SECONDS
    return [
        Warning(
            f"Q_TIMEOUT ({settings.Q_CLUSTER['timeout']:g} s) leaves a send task no room for "
            "one provider request.",
            hint=(
                f"A send task needs PROVIDER_CONNECT_TIMEOUT + PROVIDER_READ_TIMEOUT "
                f"({slowest:g} s) for its last request, {SEND_MARGIN_SECONDS} s to record the "
                f"answer and {MIN_SEND_BUDGET_SECONDS:g} s to work in: set Q_TIMEOUT to at "
                f"least {needed:g} (and Q_RETRY above it), or lower the provider timeouts."
            ),
            id="dispatch.W001",
        )
    ]
