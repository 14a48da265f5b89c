"""What every API view shares: who may call, how often, how lists page and read filters.

Errors are not mapped here: `errors.exception_handler` answers them for every view.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model
from rest_framework import serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.views import APIView

from ..authentication import ApiKeyAuthentication
from ..pagination import IdCursorPagination
from ..permissions import IntegrationAccess
from ..serializers.base import EmptySerializer
from ..throttling import ApiKeyRateThrottle


class ApiView(APIView):
    """Authentication, permissions, throttling and pagination every API route shares."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IntegrationAccess]
    throttle_classes = [ApiKeyRateThrottle]
    pagination_class = IdCursorPagination
    # What a staff session needs, per action, where the admin asks for other permissions than
    # the HTTP method's (see permissions.py): verbs on the view's model, as `("dispatch",)`.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {}
    # The model of those permissions; a viewset's is its queryset's.
    permission_model: ClassVar[type[Model] | None] = None

    def permission_needs(self, request: Request) -> tuple[type[Model], tuple[str, ...]] | None:
        """The model and verbs this request asks of a staff session when they depend on the
        request itself; None where the method or `action_permissions` decides."""
        return None

    def no_body(self, request: Request) -> None:
        """Refuse a body on an action that takes none (400 naming what it carried)."""
        EmptySerializer(data=request.data).is_valid(raise_exception=True)

    def filters(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The list's query parameters, checked (400 naming the bad one)."""
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return {name: value for name, value in query.validated_data.items() if value is not None}


class ApiViewSet(ApiView, viewsets.GenericViewSet):
    """A viewset with the shared API behaviour."""
