"""The three ways a service refuses, each mapped once by every interface.

- `InvalidInput`: the request itself is wrong and will always fail: 400 by field in the API, a
  form error or message in the admin.
- `StateConflict`: the request is fine, but what it acts on does not allow it now: 409 in the
  API, an error message in the admin.
- `NotFound`: what it names does not exist: 404 in the API, an error message in the admin.

`InvalidInput` is a Django `ValidationError`, so forms and serializers show it by field without
glue; `NotFound` is an `ObjectDoesNotExist`. Services raise these and nothing else for a refusal;
interfaces translate them in one place each (`api/errors.py`, `admin/base.py`).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError


class InvalidInput(ValidationError):
    """The input is wrong (one sentence, or several); `field` names the part of it, where
    one does."""

    def __init__(self, message: str | list[str], *, field: str | None = None) -> None:
        messages = message if isinstance(message, list) else [message]
        super().__init__({field: messages} if field else messages)

    def __str__(self) -> str:
        return " ".join(self.messages)


class StateConflict(Exception):
    """The move is not allowed in the current state; the message says why, for a person."""


class NotFound(ObjectDoesNotExist):
    """What the request names does not exist."""


# Every refusal a service makes, for an interface that shows them all the same way.
REFUSALS = (InvalidInput, StateConflict, NotFound)
