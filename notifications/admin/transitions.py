"""Sending from a campaign's page: which transitions a campaign offers, the question that confirms
each (with the numbers it touches, counted in SQL), what stops it now and where that is
mended, and the service call behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.actions import Action, campaign_actions
from notifications.campaigns.lifecycle import (
    campaign_cancel,
    campaign_dispatch,
    campaign_pause,
    campaign_resend_unknown,
    campaign_resume,
    campaign_retry_failed,
)
from notifications.campaigns.people import CONFIRMATION_MAX_AGE
from notifications.campaigns.plan import campaign_send_plan
from notifications.campaigns.selectors import campaign_message, campaign_progress
from notifications.campaigns.services import (
    campaign_copy,
    campaign_reschedule,
    campaign_schedule,
    campaign_unschedule,
)

from ..formats import number_text
from ..models import Campaign
from .base import moment_text
from .timezones import ZonedDateTimeField


class TransitionForm(forms.Form):
    """What a transition needs besides a click: a time to schedule.

    Only the shape is checked here; the services refuse a past time.
    """

    scheduled_at = ZonedDateTimeField(label=_("Send at"))

    def __init__(self, *args, action: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action not in ("schedule", "reschedule"):
            del self.fields["scheduled_at"]


@dataclass(frozen=True)
class Transition:
    """One action on a campaign: its button's label, the question that confirms it, and the
    call to the service that does it, returning the sentence staff see after (and, for a move
    that makes another campaign, the page to go to). `permission` is what staff need."""

    label: str
    question: Callable[[Campaign], str]
    run: Callable[[Campaign, object, dict], str | tuple[str, str]]
    permission: str = "notifications.dispatch_campaign"


def _reach(campaign: Campaign) -> str:
    # The confirmation page has just counted (transition_view): this reads that count.
    plan = campaign_send_plan(
        campaign=campaign, content=campaign_message(campaign), max_age=CONFIRMATION_MAX_AGE
    )
    names = {
        "name": campaign,
        "count": number_text(plan.reachable),
        "channel": campaign.get_channel_display(),
    }
    if not plan.skipped:
        return (
            ngettext(
                "'%(name)s' to %(count)s recipient on %(channel)s",
                "'%(name)s' to %(count)s recipients on %(channel)s",
                plan.reachable,
            )
            % names
        )
    names.update(skipped=number_text(plan.skipped), people=number_text(plan.people))
    if plan.excluded:
        sentence = ngettext(
            "'%(name)s' to %(count)s recipient on %(channel)s (%(skipped)s of %(people)s are "
            "skipped: excluded, opted out or no address)",
            "'%(name)s' to %(count)s recipients on %(channel)s (%(skipped)s of %(people)s are "
            "skipped: excluded, opted out or no address)",
            plan.reachable,
        )
    else:
        sentence = ngettext(
            "'%(name)s' to %(count)s recipient on %(channel)s (%(skipped)s of %(people)s are "
            "skipped: opted out or no address)",
            "'%(name)s' to %(count)s recipients on %(channel)s (%(skipped)s of %(people)s are "
            "skipped: opted out or no address)",
            plan.reachable,
        )
    return sentence % names


def _schedule_question(campaign: Campaign) -> str:
    return gettext("Schedule %(reach)s?") % {"reach": _reach(campaign)}


def _dispatch_question(campaign: Campaign) -> str:
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        return gettext("Schedule %(reach)s for %(moment)s?") % {
            "reach": _reach(campaign),
            "moment": moment_text(campaign.scheduled_at),
        }
    return gettext("Send %(reach)s?") % {"reach": _reach(campaign)}


def _open(campaign: Campaign) -> int:
    progress = campaign_progress(campaign_id=campaign.pk)
    return progress["pending"] + progress["sending"]


def _dispatch(campaign: Campaign, user, data: dict) -> str:
    dispatched = campaign_dispatch(campaign_id=campaign.pk, user=user)
    return _dispatched_sentence(dispatched)


def _schedule(campaign: Campaign, user, data: dict) -> str:
    scheduled = campaign_schedule(
        campaign_id=campaign.pk, user=user, scheduled_at=data["scheduled_at"]
    )
    return _dispatched_sentence(scheduled)


def _dispatched_sentence(campaign: Campaign) -> str:
    if campaign.status == Campaign.Status.SCHEDULED:
        return gettext("'%(name)s' is scheduled for %(moment)s.") % {
            "name": campaign,
            "moment": moment_text(campaign.scheduled_at),
        }
    return gettext("'%(name)s' is being sent.") % {"name": campaign}


def _count_of(status: str) -> Callable[[Campaign], int]:
    return lambda campaign: campaign_progress(campaign_id=campaign.pk)[status]


def _pause(campaign: Campaign, user, data: dict) -> str:
    campaign_pause(campaign_id=campaign.pk, user=user)
    return gettext("'%(name)s' is paused.") % {"name": campaign}


def _resume(campaign: Campaign, user, data: dict) -> str:
    campaign_resume(campaign_id=campaign.pk, user=user)
    return gettext("'%(name)s' goes on.") % {"name": campaign}


def _cancel(campaign: Campaign, user, data: dict) -> str:
    campaign_cancel(campaign_id=campaign.pk, user=user)
    return gettext("'%(name)s' is cancelled.") % {"name": campaign}


def _retry_failed(campaign: Campaign, user, data: dict) -> str:
    count = campaign_retry_failed(campaign_id=campaign.pk, user=user)
    return ngettext(
        "%(count)s failed delivery will be sent again with version %(version)s of the message.",
        "%(count)s failed deliveries will be sent again with version %(version)s of the message.",
        count,
    ) % {"count": number_text(count), "version": campaign.content_version}


def _retry_question(campaign: Campaign) -> str:
    failed = _count_of("failed")(campaign)
    return ngettext(
        "Send the %(count)s failed delivery of '%(name)s' again with version %(version)s of "
        "the message?",
        "Send the %(count)s failed deliveries of '%(name)s' again with version %(version)s of "
        "the message?",
        failed,
    ) % {"count": number_text(failed), "name": campaign, "version": campaign.content_version}


def _copy(campaign: Campaign, user, data: dict) -> tuple[str, str]:
    copy, template = campaign_copy(campaign_id=campaign.pk, user=user)
    names = {"copy": copy, "name": campaign, "template": template}
    sentence = (
        gettext(
            "'%(copy)s' is a new draft with the message, audiences and exclusions of '%(name)s'."
        )
        % names
    )
    if template is not None:
        sentence += " " + gettext("Its message is the new template '%(template)s'.") % names
    return sentence, reverse("admin:notifications_campaign_change", args=[copy.pk])


def _copy_question(campaign: Campaign) -> str:
    question = gettext(
        "Make a new draft from '%(name)s' with the same message, audiences and exclusions? "
        "'%(name)s' itself does not change."
    ) % {"name": campaign}
    if campaign.sendios_project_id is not None:
        question += " " + gettext(
            "Its Sendios ids are not copied: SMS callbacks find one campaign by them."
        )
    return question


def _resend_unknown(campaign: Campaign, user, data: dict) -> str:
    count = campaign_resend_unknown(campaign_id=campaign.pk, user=user)
    return ngettext(
        "%(count)s delivery of unknown fate will be sent again.",
        "%(count)s deliveries of unknown fate will be sent again.",
        count,
    ) % {"count": number_text(count)}


def _reschedule(campaign: Campaign, user, data: dict) -> str:
    rescheduled = campaign_reschedule(
        campaign_id=campaign.pk, user=user, scheduled_at=data["scheduled_at"]
    )
    return gettext("'%(name)s' is rescheduled for %(moment)s.") % {
        "name": campaign,
        "moment": moment_text(rescheduled.scheduled_at),
    }


def _unschedule_question(campaign: Campaign) -> str:
    prepared = campaign_progress(campaign_id=campaign.pk)["total"]
    return ngettext(
        "Take '%(name)s' back to a draft? Nothing has been sent yet; the %(count)s delivery "
        "prepared for it are discarded, and you can edit it and schedule it again.",
        "Take '%(name)s' back to a draft? Nothing has been sent yet; the %(count)s deliveries "
        "prepared for it are discarded, and you can edit it and schedule it again.",
        prepared,
    ) % {"name": campaign, "count": number_text(prepared)}


def _unschedule(campaign: Campaign, user, data: dict) -> str:
    campaign_unschedule(campaign_id=campaign.pk, user=user)
    return gettext("'%(name)s' is a draft again: nothing was sent.") % {"name": campaign}


def _pause_question(campaign: Campaign) -> str:
    left = _open(campaign)
    return ngettext(
        "Pause '%(name)s'? %(count)s delivery waits; requests under way finish.",
        "Pause '%(name)s'? %(count)s deliveries wait; requests under way finish.",
        left,
    ) % {"name": campaign, "count": number_text(left)}


def _resume_question(campaign: Campaign) -> str:
    left = _open(campaign)
    return ngettext(
        "Resume '%(name)s'? %(count)s delivery is left to send.",
        "Resume '%(name)s'? %(count)s deliveries are left to send.",
        left,
    ) % {"name": campaign, "count": number_text(left)}


def _cancel_question(campaign: Campaign) -> str:
    left = _open(campaign)
    return ngettext(
        "Cancel '%(name)s' for good? %(count)s delivery will not be sent.",
        "Cancel '%(name)s' for good? %(count)s deliveries will not be sent.",
        left,
    ) % {"name": campaign, "count": number_text(left)}


def _resend_question(campaign: Campaign) -> str:
    unknown = _count_of("unknown")(campaign)
    return ngettext(
        "Send the %(count)s delivery of '%(name)s' whose fate is unknown again? This person "
        "may have got the message and will get it twice.",
        "Send the %(count)s deliveries of '%(name)s' whose fate is unknown again? Some of "
        "these people may have got the message and will get it twice.",
        unknown,
    ) % {"name": campaign, "count": number_text(unknown)}


def _reschedule_question(campaign: Campaign) -> str:
    return gettext("Move the start of '%(name)s' from %(moment)s to another time?") % {
        "name": campaign,
        "moment": moment_text(campaign.scheduled_at),
    }


TRANSITIONS: dict[str, Transition] = {
    "dispatch": Transition(_("Dispatch"), _dispatch_question, _dispatch),
    "schedule": Transition(_("Schedule"), _schedule_question, _schedule),
    "pause": Transition(_("Pause"), _pause_question, _pause),
    "resume": Transition(_("Resume"), _resume_question, _resume),
    "cancel": Transition(_("Cancel"), _cancel_question, _cancel),
    "retry_failed": Transition(_("Retry failed"), _retry_question, _retry_failed),
    "resend_unknown": Transition(_("Resend unknown"), _resend_question, _resend_unknown),
    "copy": Transition(_("Copy"), _copy_question, _copy, permission="notifications.add_campaign"),
    "reschedule": Transition(_("Reschedule"), _reschedule_question, _reschedule),
    "unschedule": Transition(_("Back to draft"), _unschedule_question, _unschedule),
}


def _offered(campaign: Campaign, progress: dict[str, int]) -> list[str]:
    """The lifecycle's moves worth offering now, as this page's actions (dispatch or schedule)."""
    offered = []
    for action in campaign_actions(campaign, progress):
        offered.extend(["dispatch", "schedule"] if action == Action.DISPATCH else [action.value])
    return offered


# Page actions with a page of their own rather than a confirmation.
_OWN_PAGES = {
    "edit_content": "admin:notifications_campaign_content",
    "send_test": "admin:notifications_campaign_test_send",
}


@dataclass(frozen=True)
class Button:
    """A move offered on a campaign's page: where it leads, and its label with its numbers."""

    action: str
    label: str
    url: str


def transition_buttons(campaign: Campaign, user) -> list[Button]:
    """The allowed transitions `user` may take, as buttons whose labels carry the numbers
    they touch."""
    progress = campaign_progress(campaign_id=campaign.pk)
    labels = {
        "dispatch": gettext("Dispatch now"),
        "schedule": gettext("Schedule…"),
        "retry_failed": gettext("Retry %(count)s failed")
        % {"count": number_text(progress["failed"])},
        "resend_unknown": gettext("Resend %(count)s unknown")
        % {"count": number_text(progress["unknown"])},
        "send_test": gettext("Send test…"),
        "edit_content": gettext("Edit message…"),
        "copy": gettext("Copy…"),
        "reschedule": gettext("Reschedule…"),
        "unschedule": gettext("Back to draft"),
    }
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        labels["dispatch"] = gettext("Dispatch for %(moment)s") % {
            "moment": moment_text(campaign.scheduled_at)
        }
    buttons = []
    for action in _offered(campaign, progress):
        if action in _OWN_PAGES:
            if not user.has_perm("notifications.dispatch_campaign"):
                continue
            url = reverse(_OWN_PAGES[action], args=[campaign.pk])
        else:
            if not user.has_perm(TRANSITIONS[action].permission):
                continue
            url = reverse("admin:notifications_campaign_transition", args=[campaign.pk, action])
        buttons.append(Button(action, labels.get(action) or TRANSITIONS[action].label, url))
    return buttons
