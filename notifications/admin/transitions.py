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

from notifications.campaigns.lifecycle import (
    Action,
    campaign_actions,
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

from ..models import Campaign
from .base import moment_text
from .timezones import ZonedDateTimeField


class TransitionForm(forms.Form):
    """What a transition needs besides a click: a time to schedule.

    Only the shape is checked here; the services refuse a past time.
    """

    scheduled_at = ZonedDateTimeField(label="Send at")

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
    sentence = f"'{campaign}' to {plan.reachable:,} recipients on {campaign.get_channel_display()}"
    if plan.skipped:
        reasons = (
            "excluded, opted out or no address" if plan.excluded else "opted out or no address"
        )
        sentence += f" ({plan.skipped:,} of {plan.people:,} are skipped: {reasons})"
    return sentence


def _dispatch_question(campaign: Campaign) -> str:
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        return f"Schedule {_reach(campaign)} for {moment_text(campaign.scheduled_at)}?"
    return f"Send {_reach(campaign)}?"


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
        return f"'{campaign}' is scheduled for {moment_text(campaign.scheduled_at)}."
    return f"'{campaign}' is being sent."


def _count_of(status: str) -> Callable[[Campaign], int]:
    return lambda campaign: campaign_progress(campaign_id=campaign.pk)[status]


def _pause(campaign: Campaign, user, data: dict) -> str:
    campaign_pause(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' is paused."


def _resume(campaign: Campaign, user, data: dict) -> str:
    campaign_resume(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' goes on."


def _cancel(campaign: Campaign, user, data: dict) -> str:
    campaign_cancel(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' is cancelled."


def _retry_failed(campaign: Campaign, user, data: dict) -> str:
    count = campaign_retry_failed(campaign_id=campaign.pk, user=user)
    return (
        f"{count:,} failed deliveries will be sent again with version "
        f"{campaign.content_version} of the message."
    )


def _retry_question(campaign: Campaign) -> str:
    failed = _count_of("failed")(campaign)
    return (
        f"Send the {failed:,} failed deliveries of '{campaign}' again with version "
        f"{campaign.content_version} of the message?"
    )


def _copy(campaign: Campaign, user, data: dict) -> tuple[str, str]:
    copy, template = campaign_copy(campaign_id=campaign.pk, user=user)
    sentence = (
        f"'{copy}' is a new draft with the message, audiences and exclusions of '{campaign}'."
    )
    if template is not None:
        sentence += f" Its message is the new template '{template}'."
    return sentence, reverse("admin:notifications_campaign_change", args=[copy.pk])


def _copy_question(campaign: Campaign) -> str:
    question = (
        f"Make a new draft from '{campaign}' with the same message, audiences and exclusions? "
        f"'{campaign}' itself does not change."
    )
    if campaign.sendios_project_id is not None:
        question += " Its Sendios ids are not copied: SMS callbacks find one campaign by them."
    return question


def _resend_unknown(campaign: Campaign, user, data: dict) -> str:
    count = campaign_resend_unknown(campaign_id=campaign.pk, user=user)
    return f"{count:,} deliveries of unknown fate will be sent again."


def _reschedule(campaign: Campaign, user, data: dict) -> str:
    rescheduled = campaign_reschedule(
        campaign_id=campaign.pk, user=user, scheduled_at=data["scheduled_at"]
    )
    return f"'{campaign}' is rescheduled for {moment_text(rescheduled.scheduled_at)}."


def _unschedule_question(campaign: Campaign) -> str:
    prepared = campaign_progress(campaign_id=campaign.pk)["total"]
    deliveries = "delivery" if prepared == 1 else "deliveries"
    return (
        f"Take '{campaign}' back to a draft? Nothing has been sent yet; the {prepared:,} "
        f"{deliveries} prepared for it are discarded, and you can edit it and schedule it again."
    )


def _unschedule(campaign: Campaign, user, data: dict) -> str:
    campaign_unschedule(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' is a draft again: nothing was sent."


TRANSITIONS: dict[str, Transition] = {
    "dispatch": Transition("Dispatch", _dispatch_question, _dispatch),
    "schedule": Transition("Schedule", lambda c: f"Schedule {_reach(c)}?", _schedule),
    "pause": Transition(
        "Pause",
        lambda c: f"Pause '{c}'? {_open(c):,} deliveries wait; requests under way finish.",
        _pause,
    ),
    "resume": Transition(
        "Resume", lambda c: f"Resume '{c}'? {_open(c):,} deliveries are left to send.", _resume
    ),
    "cancel": Transition(
        "Cancel",
        lambda c: f"Cancel '{c}' for good? {_open(c):,} deliveries will not be sent.",
        _cancel,
    ),
    "retry_failed": Transition("Retry failed", _retry_question, _retry_failed),
    "resend_unknown": Transition(
        "Resend unknown",
        lambda c: (
            f"Send the {_count_of('unknown')(c):,} deliveries of '{c}' whose fate is "
            "unknown again? Some of these people may have got the message and will get it twice."
        ),
        _resend_unknown,
    ),
    "copy": Transition("Copy", _copy_question, _copy, permission="notifications.add_campaign"),
    "reschedule": Transition(
        "Reschedule",
        lambda c: f"Move the start of '{c}' from {moment_text(c.scheduled_at)} to another time?",
        _reschedule,
    ),
    "unschedule": Transition("Back to draft", _unschedule_question, _unschedule),
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
        "dispatch": "Dispatch now",
        "schedule": "Schedule…",
        "retry_failed": f"Retry {progress['failed']:,} failed",
        "resend_unknown": f"Resend {progress['unknown']:,} unknown",
        "send_test": "Send test…",
        "edit_content": "Edit message…",
        "copy": "Copy…",
        "reschedule": "Reschedule…",
        "unschedule": "Back to draft",
    }
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        labels["dispatch"] = f"Dispatch for {moment_text(campaign.scheduled_at)}"
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
