"""Writes to message templates."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError
from django.utils.translation import gettext

from notifications.content.rendering import TEMPLATE_FIELDS
from notifications.db.save import save_fields
from notifications.errors import StateConflict
from notifications.models import (
    MessageTemplate,
)


def message_template_save(
    *, template: MessageTemplate | None, data: dict[str, Any]
) -> MessageTemplate:
    """Create or change a template; the caller has checked it with `message_template_errors`."""
    template = template or MessageTemplate()
    save_fields(template, data)
    return template


def message_template_delete(*, template: MessageTemplate) -> None:
    """Delete a template no campaign uses; raises StateConflict otherwise."""
    try:
        template.delete()
    except ProtectedError:
        raise StateConflict(
            gettext("Cannot delete template '%(name)s': campaigns use it.")
            % {"name": template.name}
        ) from None


def template_fields_of(content: dict[str, str] | None) -> dict[str, str]:
    """Literal message content as the full set of template fields, missing ones empty."""
    return {name: (content or {}).get(name) or "" for name in TEMPLATE_FIELDS}
