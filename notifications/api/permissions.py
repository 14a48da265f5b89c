"""What a caller may do: any API key or staff user may read; only keys that are not read-only
(and staff) may write."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ..models import IntegrationKey


class IntegrationAccess(BasePermission):
    """An API key, or a logged-in staff user (the browsable API); read-only keys only read."""

    message = "This API key is read-only: it may list and read, not change anything."

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, IntegrationKey):
            return request.method in SAFE_METHODS or not request.auth.read_only
        user = request.user
        if user and user.is_authenticated:
            self.message = "Only staff users may use the API with a session."
            return bool(user.is_staff)
        return False
