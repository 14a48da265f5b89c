"""A claim's messages: each delivery's content rendered from the campaign's frozen template."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from notifications.content.checks import render_for_channel
from notifications.content.rendering import (
    RECIPIENT_FIELDS,
    CompiledTemplate,
    RenderError,
    compile_template,
)
from notifications.providers.values import Content, OutboundMessage, ResultStatus, SendResult

from ..models import Campaign, Recipient
from ..providers.registry import provider_class
from .claims import Claimed
from .holds import QuietHours


def claimed_render(
    campaign: Campaign, claimed: Sequence[Claimed], quiet: QuietHours
) -> tuple[list[OutboundMessage], list[SendResult], dict[int, Content], dict[int, datetime]]:
    """The claimed deliveries' messages and render failures, and those that must wait for their
    window (neither rendered nor sent), read with one query of their recipients.

    A message that uses no recipient's field is the same for everyone: rendered once, and the
    recipients are read only when their windows need their time zones."""
    compiled = compile_template(campaign.content)
    same_for_all = not compiled.variables_in(provider_class(campaign.channel).content_fields)
    people = {}
    if not same_for_all or quiet.window is not None:
        people = {
            pk: data
            for pk, *data in Recipient.objects.filter(
                id__in={c.recipient_id for c in claimed}
            ).values_list("id", "timezone", *RECIPIENT_FIELDS, "attributes")
        }
    waiting = quiet.waiting(claimed, {pk: data[0] for pk, data in people.items()})
    messages: list[OutboundMessage] = []
    failures: list[SendResult] = []
    contents: dict[int, Content] = {}
    shared = _rendered(compiled, campaign.channel, {}) if same_for_all else None
    for delivery in claimed:
        if delivery.id in waiting:
            continue
        content = (
            shared
            if same_for_all
            else _rendered(compiled, campaign.channel, _context(people[delivery.recipient_id]))
        )
        if isinstance(content, RenderError):
            failures.append(
                SendResult(
                    delivery.id, ResultStatus.FAILED, code="render_error", message=str(content)
                )
            )
            continue
        contents[delivery.id] = content
        messages.append(OutboundMessage(delivery.id, delivery.address, content))
    return messages, failures, contents, waiting


def _context(person: list) -> dict:
    """A recipient's template variables from its row: (zone, *fields, attributes)."""
    _zone, *fields, attributes = person
    return {**(attributes or {}), **dict(zip(RECIPIENT_FIELDS, fields, strict=True))}


def _rendered(compiled: CompiledTemplate, channel: str, context: dict) -> Content | RenderError:
    """The message for `context`, or why it cannot be sent."""
    try:
        return render_for_channel(compiled, channel, context)
    except RenderError as exc:
        return exc
