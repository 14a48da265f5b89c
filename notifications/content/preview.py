"""A message as a channel would send it to one recipient: the one preview every page shows.

The template editor's preview (every channel for one recipient), the API's preview and the
campaign desk's samples all render through `message_preview`, so they show the same fields and
the same problems: a template that does not render, or content the channel would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from notifications.content.checks import content_errors
from notifications.content.rendering import RenderError, compile_template, recipient_context
from notifications.models import Recipient
from notifications.providers.registry import provider_class

# A message field as staff read its name on a page; the API names fields by their codes.
FIELD_LABELS = {
    "title": _("Title"),
    "body": _("Message"),
    "deeplink": _("Link opened from the push"),
    "file_uuid": _("LeadConverter file UUID"),
    "avatar_url": _("Image URL (https)"),
}


def field_label(name: str) -> str:
    """The name staff read for the message field `name` (its code when it has no label)."""
    return str(FIELD_LABELS.get(name, name))


def field_problem(name: str, message: str) -> str:
    """What is wrong with the message field `name`, as a sentence a page shows."""
    return f"{field_label(name)}: {message}"


@dataclass(frozen=True)
class Preview:
    """What `channel` would send `recipient`, or why it cannot.

    `fields` are the (name, text) pairs the channel sends, in its order, empty when the template
    does not render; `errors` maps a field to what is wrong with it, empty when it would go out.
    """

    channel: str
    recipient: Recipient
    fields: tuple[tuple[str, str], ...]
    errors: dict[str, list[str]]

    @property
    def labelled_fields(self) -> tuple[tuple[str, str, str], ...]:
        """The (name, label, text) triples a page shows: `fields` with the names staff read."""
        return tuple((name, field_label(name), text) for name, text in self.fields)

    @property
    def problems(self) -> list[str]:
        """Every error as a sentence naming its field as staff read it, for a page that lists
        them."""
        return [
            field_problem(field, message)
            for field, messages in self.errors.items()
            for message in messages
        ]


def message_preview(*, fields: Mapping[str, str], channel: str, recipient: Recipient) -> Preview:
    """Render template `fields` for `recipient` on `channel` and check the result."""
    sent = provider_class(channel).content_fields
    try:
        content = compile_template(fields).render(recipient_context(recipient), fields=sent)
    except RenderError as exc:
        return Preview(channel, recipient, (), {exc.field: [exc.message]})
    return Preview(
        channel,
        recipient,
        tuple((name, getattr(content, name)) for name in sent),
        content_errors(channel, content),
    )
