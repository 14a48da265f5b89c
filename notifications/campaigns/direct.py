"""Sends that start at once to named recipients: test sends of a campaign, and API messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from notifications.campaigns.actions import Action
from notifications.campaigns.lifecycle import campaign_lock, campaign_move
from notifications.campaigns.materialise import deliveries_materialise
from notifications.campaigns.preflight import campaign_preflight
from notifications.campaigns.selectors import campaign_message
from notifications.campaigns.sending_rules import new_campaign_window
from notifications.campaigns.versions import content_version_add
from notifications.content.checks import channel_message_errors
from notifications.content.rendering import template_fields
from notifications.content.services import template_fields_of
from notifications.errors import InvalidInput, StateConflict
from notifications.models import (
    Campaign,
    MessageTemplate,
    Recipient,
)
from notifications.recipients.validators import recipients_known
from notifications.sending.counters import counters_rebuild
from notifications.sending.wake import enqueue_senders


def campaign_send_test(
    *,
    campaign_id: int,
    external_ids: Iterable[str] = (),
    recipient_ids: Iterable[int] = (),
    user: Any = None,
) -> Campaign:
    """Send this campaign's message now to recipients named by external_id or id, as a
    separate test send; InvalidInput names the unknown ones.

    The campaign's own deliveries are untouched; the test send is a child campaign of kind
    `test` with its own deliveries and history, shown under its campaign. A draft's test sends
    its template as it is now; a dispatched campaign's, its current version.
    """
    wanted = set(external_ids)
    ids = set(recipient_ids)
    if not wanted and not ids:
        raise InvalidInput(
            gettext("Choose at least one recipient to send the test to."), field="recipients"
        )
    if len(wanted) + len(ids) > MAX_TEST_RECIPIENTS:
        raise InvalidInput(
            ngettext(
                "A test goes to at most %(count)s recipient.",
                "A test goes to at most %(count)s recipients.",
                MAX_TEST_RECIPIENTS,
            )
            % {"count": MAX_TEST_RECIPIENTS},
            field="recipients",
        )
    if wanted:
        ids |= set(recipients_known(wanted).values())
    known = set(Recipient.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if known != ids:
        raise InvalidInput(gettext("A chosen recipient no longer exists."), field="recipients")
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.SEND_TEST)
        test = Campaign.objects.create(
            name=(gettext("Test of %(name)s") % {"name": campaign.name})[:200],
            kind=Campaign.Kind.TEST,
            parent=campaign,
            channel=campaign.channel,
            template=campaign.template,
            content=campaign_message(campaign),
            created_by=user if getattr(user, "pk", None) else None,
        )
        _start_now(test, sorted(ids), StateConflict)
    return test


MAX_TEST_RECIPIENTS = 50


def _start_now(
    campaign: Campaign,
    recipient_ids: Sequence[int],
    refusal: type[InvalidInput] | type[StateConflict],
) -> None:
    """Check a new test send or message, make its deliveries and start sending, in the
    caller's transaction. A message that cannot go out raises `refusal` (and the caller's
    transaction rolls back): a campaign's own content is its state, a message's is the input."""
    check = campaign_preflight(campaign=campaign)
    if check.errors:
        raise refusal(" ".join(check.errors))
    now = timezone.now()
    campaign_move(campaign, Campaign.Status.RUNNING, user=campaign.created_by)
    campaign.dispatched_at = campaign.started_at = now
    campaign.dispatched_by = campaign.created_by
    content_version_add(
        campaign, campaign.content, template=campaign.template, user=campaign.created_by
    )
    campaign.save()
    deliveries_materialise(campaign, min(recipient_ids), max(recipient_ids), recipient_ids)
    counters_rebuild(campaign_id=campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(materialised_at=now)
    enqueue_senders(campaign.pk)


MAX_MESSAGE_RECIPIENTS = 1000


def message_send(
    *,
    channel: str,
    external_ids: Iterable[str],
    template: MessageTemplate | None = None,
    content: dict[str, str] | None = None,
    send_window: bool = False,
    user: Any = None,
) -> Campaign:
    """Send one message now to a few recipients: a running campaign of kind `transactional`.

    The content is frozen from `template` or given literally as `content`. A message goes out
    at any hour (a password reset cannot wait for morning) unless `send_window` asks for the
    site's default window, in each recipient's local time. Raises
    InvalidInput, and creates nothing, when a recipient is unknown or the message cannot go
    out on `channel` (named by the field it came from: `template` or `content`).
    """
    wanted = set(external_ids)
    if not wanted:
        raise InvalidInput(gettext("Name at least one recipient."), field="recipients")
    if len(wanted) > MAX_MESSAGE_RECIPIENTS:
        raise InvalidInput(
            ngettext(
                "A message goes to at most %(count)s recipient.",
                "A message goes to at most %(count)s recipients.",
                MAX_MESSAGE_RECIPIENTS,
            )
            % {"count": MAX_MESSAGE_RECIPIENTS},
            field="recipients",
        )
    if (template is None) == (content is None):
        raise InvalidInput(gettext("Give either a template or a content, not both."))
    fields = template_fields(template) if template is not None else template_fields_of(content)
    problems = channel_message_errors(channel, fields)
    if problems:
        raise InvalidInput(
            " ".join(
                f"{field}: {message}"
                for field, messages in problems.items()
                for message in messages
            ),
            field="template" if template is not None else "content",
        )
    ids = recipients_known(wanted)
    with transaction.atomic():
        message = Campaign.objects.create(
            name=(
                gettext("Message: %(name)s")
                % {"name": template.name if template else fields["title"] or fields["body"]}
            )[:200],
            kind=Campaign.Kind.TRANSACTIONAL,
            channel=channel,
            template=template,
            content=fields,
            created_by=user if getattr(user, "pk", None) else None,
            **({**new_campaign_window(), "window_on": True} if send_window else {}),
        )
        _start_now(message, sorted(ids.values()), InvalidInput)
    return message
