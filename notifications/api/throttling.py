"""Requests per API key: one budget per key (or staff user), whatever address it calls from."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..models import IntegrationKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Throttle by the API key's id (rate: `API_THROTTLE_RATE`); 429 carries Retry-After."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, IntegrationKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
