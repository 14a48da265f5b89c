"""How the API answers an error: the one place where an error from the domain becomes HTTP.

DRF's own exceptions carry their status already. The domain's are translated here, for every
view, before DRF's handler writes the answer (and rolls back the request's transaction):

- `StateConflict`: the object's state does not allow the request: 409, `{"detail": "..."}`
  with the service's sentence;
- `NotFound`: what the request names does not exist: 404, `{"detail": "..."}`;
- `IdempotencyMismatch`: an Idempotency-Key reused for another request: 422, `{"detail": "..."}`;
- `InvalidInput`, or any Django `ValidationError`: invalid input: 400, the messages per field
  as a serializer's errors (`{"field": ["..."]}`), under `non_field_errors` when no field is
  named, as a serializer's `validate()` would put them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status, views
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ..errors import NotFound, StateConflict
from .idempotency import IdempotencyMismatch


class Conflict(exceptions.APIException):
    """The resource's state does not allow this request now (a campaign transition)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    """The Idempotency-Key was first used with another request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was used with a different request.")
    default_code = "idempotency_key_reused"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, given the domain's errors as the API exceptions they mean."""
    return views.exception_handler(_as_api_exception(exc), context)


def _as_api_exception(exc: Exception) -> Exception:
    """The API exception a domain error means; any other exception unchanged."""
    if isinstance(exc, StateConflict):
        return Conflict(str(exc))
    if isinstance(exc, NotFound):
        return exceptions.NotFound(str(exc))
    if isinstance(exc, IdempotencyMismatch):
        return IdempotencyKeyReused(str(exc))
    if isinstance(exc, DjangoValidationError):
        # Only an error built from a dict has `error_dict`.
        if hasattr(exc, "error_dict"):
            return serializers.ValidationError(exc.message_dict)
        return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.messages})
    return exc
