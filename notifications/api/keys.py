"""Integration API keys: creating one (its secret shown once) and noting when it was last used."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..models import IntegrationKey


def integration_key_create(*, name: str, read_only: bool = False) -> tuple[IntegrationKey, str]:
    """A new API key and its secret; only the hash is stored, so the secret is shown once."""
    return IntegrationKey.objects.create_key(name=name, read_only=read_only)


KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def integration_key_touch(*, key: IntegrationKey) -> None:
    """Record that a key was used; at most once a minute, to keep a write off every request."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < KEY_TOUCH_INTERVAL:
        return
    IntegrationKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
