"""System checks for the settings the send task's time budget is made of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from .tasks import MIN_SEND_BUDGET_SECONDS, SEND_MARGIN_SECONDS, send_budget_unclamped


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
