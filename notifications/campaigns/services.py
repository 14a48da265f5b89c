"""Creating, changing, scheduling and deleting draft campaigns, and what makes a draft's fields
wrong."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from notifications.campaigns.actions import Action, campaign_allows, refusal_sentence
from notifications.campaigns.lifecycle import campaign_dispatch, campaign_lock, campaign_move
from notifications.campaigns.people import campaign_people_count
from notifications.campaigns.preflight import render_failures
from notifications.campaigns.sending_rules import (
    WINDOW_FIELDS,
    new_campaign_window,
    window_errors,
    window_fields_of,
)
from notifications.campaigns.sms import sms_events_link_pending
from notifications.campaigns.versions import content_version_add
from notifications.content.checks import channel_message_errors, channel_template_errors
from notifications.content.rendering import template_fields
from notifications.content.services import template_fields_of
from notifications.db.save import save_fields
from notifications.errors import InvalidInput, StateConflict
from notifications.models import (
    Audience,
    Campaign,
    CampaignContent,
    Delivery,
    DeliveryCounter,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)
from notifications.providers.registry import provider_class
from notifications.reasons import reason_encode

# A campaign's frequency caps (`campaigns.caps`): whether they hold it back, and what becomes
# of a delivery they do. Like the send window, they may change until the campaign starts.
CAPS_FIELDS = ("caps_on", "capped_action")


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
                gettext("'%(template)s' cannot go out here: %(problem)s")
                % {"template": template, "problem": message}
                for message in messages
            )
    if (sendios_project_id is None) != (sendios_template_id is None):
        errors["sendios_template_id"] = [
            gettext("Give both the Sendios project id and template id, or neither.")
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
        gettext("'%(name)s'") % {"name": name}
        for name in Audience.objects.filter(pk__in=both)
        .order_by("name")
        .values_list("name", flat=True)
    )
    return {
        "excluded_audiences": [
            ngettext(
                "%(names)s cannot be both a campaign's audience and excluded from it.",
                "%(names)s cannot be both a campaign's audience and excluded from it.",
                len(both),
            )
            % {"names": names}
        ]
    }


def campaign_save(
    *,
    campaign_id: int | None,
    data: dict[str, Any],
    audiences: Iterable[Audience] | None = None,
    excluded_audiences: Iterable[Audience] | None = None,
    user: Any = None,
    may_dispatch: bool = False,
) -> Campaign:
    """Create a draft campaign, or change one that is still a draft (else StateConflict); the
    caller has checked the fields with `campaign_errors`. `audiences` and
    `excluded_audiences`, when given, replace the campaign's.

    A new campaign's send window starts as the site's default (`sending_rules`). The window
    and the frequency caps' fields alone may also change while the campaign is scheduled
    (`_refuse_change`). An impossible window is InvalidInput on its field; so is turning the
    caps off when the caller may not dispatch (`may_dispatch`, which the interface answers
    from its permissions: `campaign_caps_errors`). Turning them off or on again is written in
    the campaign's history with `user`'s name.

    Only the fields in `data` are written, under the campaign's lock: workers and transitions
    write the others (status, heartbeat, pause reason), and their changes stay.
    """
    with transaction.atomic():
        if campaign_id is None:
            campaign = Campaign(
                created_by=user if getattr(user, "pk", None) else None, **new_campaign_window()
            )
        else:
            campaign = campaign_lock(campaign_id)
            _refuse_change(campaign, data, audiences is not None or excluded_audiences is not None)
        caps_were_on = campaign.caps_on
        problems = {
            **window_errors({**window_fields_of(campaign), **data}),
            **campaign_caps_errors(
                caps_on=data.get("caps_on", caps_were_on),
                were_on=caps_were_on,
                may_dispatch=may_dispatch,
            ),
        }
        if problems:
            field, messages = next(iter(problems.items()))
            raise InvalidInput(messages, field=field)
        save_fields(campaign, data)
        if campaign.caps_on != caps_were_on:
            _caps_record(campaign, user)
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


def campaign_window_changeable(campaign: Campaign) -> bool:
    """Whether `campaign`'s send window and frequency caps may change: as long as its start
    may (a draft, or a scheduled campaign, which can be rescheduled), as none of its messages
    has gone out yet."""
    return campaign_allows(campaign, Action.CHANGE) or campaign_allows(campaign, Action.RESCHEDULE)


def campaign_caps_errors(
    *, caps_on: bool, were_on: bool, may_dispatch: bool
) -> dict[str, list[str]]:
    """Turning a campaign's frequency caps off, as an error on `caps_on` unless the person may
    dispatch campaigns: sending to people who have had their fill is a sending decision.
    Turning them on again, or leaving them as they are, is anyone's who may change it."""
    if caps_on or not were_on or may_dispatch:
        return {}
    return {
        "caps_on": [
            gettext(
                "Only staff who may dispatch campaigns can turn frequency caps off (the "
                "permission notifications.dispatch_campaign)."
            )
        ]
    }


def _caps_record(campaign: Campaign, user: Any) -> None:
    """The campaign's caps turned off or on, in its history, with who did it."""
    who = getattr(user, "get_username", lambda: "")()
    code = "caps_off" if not campaign.caps_on else "caps_on"
    DeliveryEvent.objects.create(
        type=DeliveryEvent.Type.CAMPAIGN_CAPS,
        campaign_id=campaign.pk,
        detail=reason_encode(f"{code}_by", who=who) if who else reason_encode(code),
        data={"caps_on": campaign.caps_on, "by": who},
    )


def _refuse_change(campaign: Campaign, data: dict[str, Any], audiences_given: bool) -> None:
    """StateConflict unless the lifecycle lets this change through: anything while a draft,
    the send window and the caps' fields alone while they are changeable."""
    if campaign_allows(campaign, Action.CHANGE):
        return
    late_only = not audiences_given and set(data) <= {*WINDOW_FIELDS, *CAPS_FIELDS}
    if late_only and campaign_window_changeable(campaign):
        return
    raise StateConflict(refusal_sentence(campaign, Action.CHANGE))


def _future(scheduled_at: datetime) -> datetime:
    # `campaign_dispatch` itself takes a past time as "now"; a person who asked to schedule
    # meant a later time, and is told so instead.
    if scheduled_at <= timezone.now():
        raise InvalidInput(
            gettext("Choose a time in the future, or dispatch now."), field="scheduled_at"
        )
    return scheduled_at


def campaign_schedule(*, campaign_id: int, scheduled_at: datetime, user: Any = None) -> Campaign:
    """Dispatch a draft campaign to start at `scheduled_at`, which must be in the future."""
    return campaign_dispatch(campaign_id=campaign_id, user=user, scheduled_at=_future(scheduled_at))


def campaign_reschedule(*, campaign_id: int, scheduled_at: datetime, user: Any = None) -> Campaign:
    """Move a scheduled campaign's start to another time in the future."""
    _future(scheduled_at)
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.RESCHEDULE)
        campaign.scheduled_at = scheduled_at
        campaign.save(update_fields=["scheduled_at", "updated_at"])
    return campaign


def campaign_unschedule(*, campaign_id: int, user: Any = None) -> Campaign:
    """Take a scheduled campaign back to a draft: its deliveries, history and frozen content
    go (none was sent), and it can be edited and dispatched again.

    A materialisation still running sees the campaign is no longer the dispatch it started
    for, under the campaign's lock, and stops (`materialise.campaign_materialise`).
    """
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.UNSCHEDULE)
        DeliveryEvent.objects.filter(campaign_id=campaign_id, delivery__isnull=False).delete()
        Delivery.objects.filter(campaign_id=campaign_id).delete()
        DeliveryCounter.objects.filter(campaign_id=campaign_id).delete()
        CampaignContent.objects.filter(campaign_id=campaign_id).delete()
        campaign_move(
            campaign, Campaign.Status.DRAFT, user=user, note=reason_encode("back_to_draft")
        )
        campaign.content, campaign.content_version = {}, 0
        campaign.scheduled_at = campaign.dispatched_at = campaign.dispatched_by = None
        campaign.materialised_at = campaign.worker_seen_at = None
        campaign.pause_reason = campaign.pause_cause = ""
        campaign.save()
    return campaign


def campaign_content_edit(
    *,
    campaign_id: int,
    content: dict[str, str],
    user: Any = None,
    template: MessageTemplate | None = None,
) -> Campaign:
    """Save `content` as the campaign's next version, while it is paused or completed (before
    a retry): what is sent from now on, checked as a draft's message is. Fields `content` does
    not name keep the current version's text.

    `template` names the template the text was taken from, kept with the version. Raises
    InvalidInput on the field at fault, or when the message renders for none of the people it
    would now go to; StateConflict when the campaign is not paused or completed.
    """
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.EDIT_CONTENT)
        # Fields not given keep their text: a page shows only what the channel sends.
        fields = template_fields_of({**campaign.content, **content})
        sent = provider_class(campaign.channel).content_fields
        if all(fields[name] == campaign.content.get(name, "") for name in sent):
            raise InvalidInput(
                gettext("This is version %(version)s already: change the message first.")
                % {"version": campaign.content_version}
            )
        problems = channel_message_errors(campaign.channel, fields)
        if problems:
            field, messages = next(iter(problems.items()))
            raise InvalidInput(messages, field=field)
        failures, tried = render_failures(fields, campaign.channel, _next_recipients(campaign))
        if tried and len(failures) == tried:
            raise InvalidInput(
                gettext("The message renders for none of the people it would go to; %(example)s")
                % {"example": failures[0]}
            )
        content_version_add(campaign, fields, template=template, user=user)
        campaign.save(update_fields=["content", "content_version", "updated_at"])
    return campaign


def _next_recipients(campaign: Campaign, limit: int = 20) -> list[Recipient]:
    """The first few people a new version would go to: the failed, unknown and waiting."""
    waiting = Delivery.objects.filter(
        campaign_id=campaign.pk,
        status__in=[
            Delivery.Status.FAILED,
            Delivery.Status.UNKNOWN,
            Delivery.Status.PENDING,
            Delivery.Status.SENDING,
        ],
    )
    return list(
        Recipient.objects.filter(
            pk__in=waiting.order_by("recipient_id").values("recipient_id")[:limit]
        ).order_by("pk")
    )


def campaign_copy(*, campaign_id: int, user: Any = None) -> tuple[Campaign, MessageTemplate | None]:
    """A new draft with the campaign's channel, message, audiences, exclusions, send window and
    what it does to capped deliveries (its caps start on).

    The copy sends what the campaign sends now. A draft's message is its template, so when
    the campaign's current version differs from its template (edited after dispatch, or the
    template changed since), the copy gets a new template holding that version, returned
    second; None when the template was reused. The Sendios ids are not copied: SMS callbacks
    find their campaign by them.
    """
    with transaction.atomic():
        source = campaign_lock(campaign_id, Action.COPY)
        if source.kind != Campaign.Kind.CAMPAIGN:
            raise StateConflict(
                gettext("'%(name)s' is a %(kind)s.")
                % {"name": source.name, "kind": source.get_kind_display().lower()}
            )
        template, new_template = source.template, None
        if source.content and (
            template is None or template_fields(template) != template_fields_of(source.content)
        ):
            new_template = MessageTemplate.objects.create(
                name=_free_name(
                    MessageTemplate,
                    gettext("%(name)s (version %(version)s)")
                    % {"name": source.name, "version": source.content_version},
                ),
                **template_fields_of(source.content),
            )
            template = new_template
        copy = Campaign.objects.create(
            name=_free_name(Campaign, gettext("Copy of %(name)s") % {"name": source.name}),
            channel=source.channel,
            template=template,
            created_by=user if getattr(user, "pk", None) else None,
            # Caps turned off were a decision for that campaign: the copy starts with them on.
            capped_action=source.capped_action,
            **window_fields_of(source),
        )
        copy.audiences.set(source.audiences.all())
        copy.excluded_audiences.set(source.excluded_audiences.all())
    campaign_people_count(campaign=copy)
    return copy, new_template


def _free_name(model: type, wanted: str) -> str:
    """`wanted`, or with " (2)", " (3)"... when taken, within the name's 200 characters."""
    wanted = wanted[:190]
    taken = set(model.objects.filter(name__startswith=wanted).values_list("name", flat=True))
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted} ({number})" in taken:
        number += 1
    return f"{wanted} ({number})"


def campaign_delete(*, campaign_id: int) -> None:
    """Delete a draft campaign; one that was dispatched keeps its history (StateConflict).

    So do its test sends: they went out to real people, and a deletion would take them along.
    """
    with transaction.atomic():
        campaign = campaign_lock(campaign_id, Action.DELETE)
        if campaign.test_sends.exists():
            raise StateConflict(
                gettext("Cannot delete '%(name)s': its test sends went out and keep their history.")
                % {"name": campaign.name}
            )
        campaign.delete()
