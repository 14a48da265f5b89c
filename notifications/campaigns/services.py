"""Creating, changing, scheduling and deleting draft campaigns, and what makes a draft's fields
wrong."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.campaigns.lifecycle import Action, campaign_dispatch, campaign_lock
from notifications.campaigns.people import campaign_people_count
from notifications.campaigns.sms import sms_events_link_pending
from notifications.content.checks import channel_template_errors
from notifications.content.rendering import template_fields
from notifications.db.save import save_fields
from notifications.errors import InvalidInput, StateConflict
from notifications.models import (
    Audience,
    Campaign,
    MessageTemplate,
)


def campaign_errors(
    *,
    channel: str | None,
    template: MessageTemplate | None,
    sendios_project_id: int | None,
    sendios_template_id: int | None,
) -> dict[str, list[str]]:
    """What is wrong with a draft's fields, by field: a template its channel cannot send, or
    only one of the Sendios ids (SMS callbacks find a campaign by the pair)."""
    errors: dict[str, list[str]] = {}
    if channel and template:
        for messages in channel_template_errors(channel, template_fields(template)).values():
            errors.setdefault("template", []).extend(
                f"'{template}' cannot go out here: {message}" for message in messages
            )
    if (sendios_project_id is None) != (sendios_template_id is None):
        errors["sendios_template_id"] = [
            "Give both the Sendios project id and template id, or neither."
        ]
    return errors


def campaign_audiences_errors(
    *, audiences: Iterable[Audience], excluded_audiences: Iterable[Audience]
) -> dict[str, list[str]]:
    """An audience both included and excluded, as an error on `excluded_audiences`."""
    both = {audience.pk for audience in audiences} & {
        audience.pk for audience in excluded_audiences
    }
    if not both:
        return {}
    names = ", ".join(
        f"'{name}'"
        for name in Audience.objects.filter(pk__in=both)
        .order_by("name")
        .values_list("name", flat=True)
    )
    return {
        "excluded_audiences": [
            f"{names} cannot be both a campaign's audience and excluded from it."
        ]
    }


def campaign_save(
    *,
    campaign_id: int | None,
    data: dict[str, Any],
    audiences: Iterable[Audience] | None = None,
    excluded_audiences: Iterable[Audience] | None = None,
    user: Any = None,
) -> Campaign:
    """Create a draft campaign, or change one that is still a draft (else StateConflict); the
    caller has checked the fields with `campaign_errors`. `audiences` and
    `excluded_audiences`, when given, replace the campaign's.

    Only the fields in `data` are written, under the campaign's lock: workers and transitions
    write the others (status, heartbeat, pause reason), and their changes stay.
    """
    with transaction.atomic():
        if campaign_id is None:
            campaign = Campaign(created_by=user if getattr(user, "pk", None) else None)
        else:
            campaign = campaign_lock(campaign_id, Action.CHANGE)
        save_fields(campaign, data)
        if audiences is not None:
            campaign.audiences.set(audiences)
        if excluded_audiences is not None:
            campaign.excluded_audiences.set(excluded_audiences)
        if audiences is not None or excluded_audiences is not None:
            errors = campaign_audiences_errors(
                audiences=campaign.audiences.all(),
                excluded_audiences=campaign.excluded_audiences.all(),
            )
            if errors:
                raise InvalidInput(errors["excluded_audiences"], field="excluded_audiences")
        if campaign.sendios_project_id is not None:
            # SMS callbacks that arrived before the campaign had these Sendios ids.
            sms_events_link_pending(campaign_ids=[campaign.pk])
    if audiences is not None or excluded_audiences is not None or "channel" in data:
        # Who it is for changed: the pages show the new count, not one from before.
        campaign_people_count(campaign=campaign)
    return campaign


def campaign_schedule(*, campaign_id: int, scheduled_at: datetime, user: Any = None) -> Campaign:
    """Dispatch a draft campaign to start at `scheduled_at`, which must be in the future.

    `campaign_dispatch` itself takes a past time as "now"; a person who asked to schedule
    meant a later time, and is told so instead.
    """
    if scheduled_at <= timezone.now():
        raise InvalidInput("Choose a time in the future, or dispatch now.", field="scheduled_at")
    return campaign_dispatch(campaign_id=campaign_id, user=user, scheduled_at=scheduled_at)


def campaign_delete(*, campaign_id: int) -> None:
    """Delete a draft campaign; one that was dispatched keeps its history (StateConflict).

    So do its test sends: they went out to real people, and a deletion would take them along.
    """
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.DELETE)
        if campaign.test_sends.exists():
            raise StateConflict(
                f"Cannot delete '{campaign.name}': its test sends went out and keep their history."
            )
        campaign.delete()
