"""What every API view shares: who may call, how often, how lists page, and error mapping.

A refused campaign transition (`TransitionError`) is 409 with the service's sentence; a reused
Idempotency-Key with a different request is 422.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from ...services import TransitionError
from ..authentication import ApiKeyAuthentication
from ..idempotency import IdempotencyMismatch
from ..pagination import IdCursorPagination
from ..permissions import IntegrationAccess
from ..throttling import ApiKeyRateThrottle


class Conflict(exceptions.APIException):
    """The resource's state does not allow this request now (a campaign transition)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    """The Idempotency-Key was first used with another request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with a different request."
    default_code = "idempotency_key_reused"


class ApiView(APIView):
    """Authentication, permissions, throttling and error mapping every API route shares."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IntegrationAccess]
    throttle_classes = [ApiKeyRateThrottle]
    pagination_class = IdCursorPagination
    # What a staff session needs, per action, where the admin asks for other permissions than
    # the HTTP method's (see permissions.py): verbs on the view's model, as `("dispatch",)`.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {}
    # The model of those permissions; a viewset's is its queryset's.
    permission_model: ClassVar[type[Model] | None] = None

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TransitionError):
            exc = Conflict(str(exc))
        elif isinstance(exc, IdempotencyMismatch):
            exc = IdempotencyKeyReused(str(exc))
        elif isinstance(exc, DjangoValidationError):
            exc = serializers.ValidationError(exc.message_dict if exc.error_dict else exc.messages)
        return super().handle_exception(exc)

    def filters(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The list's query parameters, checked (400 naming the bad one)."""
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return {name: value for name, value in query.validated_data.items() if value is not None}


class ApiViewSet(ApiView, viewsets.GenericViewSet):
    """A viewset with the shared API behaviour."""
