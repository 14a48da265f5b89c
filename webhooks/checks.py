"""System checks for the webhooks app: a deployment without webhook secrets refuses every call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Tags, Warning, register

from .authentication import sms_webhook_secrets


@register(Tags.security)
def sms_webhook_secrets_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when SMS_WEBHOOK_SECRETS holds no secret: Sendios callbacks would all get 401."""
    if sms_webhook_secrets():
        return []
    return [
        Warning(
            "SMS_WEBHOOK_SECRETS is empty: every request to /webhooks/sms/ is refused.",
            hint=(
                "Set SMS_WEBHOOK_SECRETS to one or more long random values (comma-separated) "
                "and give Sendios the webhook URL with one of them as the Basic password or "
                "the token parameter."
            ),
            id="webhooks.W001",
        )
    ]
