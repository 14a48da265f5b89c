"""Sending from a campaign's page: which transitions a campaign offers, the question that confirms
each (with the numbers it touches), and the service call behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.utils import timezone

from notifications.campaigns.direct import MAX_TEST_RECIPIENTS, campaign_send_test
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
    campaign_reschedule,
    campaign_schedule,
    campaign_unschedule,
)

from ..models import Campaign
from .base import moment_text
from .timezones import ZonedDateTimeField


class TransitionForm(forms.Form):
    """What a transition needs besides a click: a time to schedule, recipients for a test.

    Only the shape is checked here; the services refuse a past time or an unknown recipient.
    """

    scheduled_at = ZonedDateTimeField(label="Send at")
    recipients = forms.CharField(
        label="Recipients (external_id)",
        help_text=f"Comma- or space-separated, at most {MAX_TEST_RECIPIENTS}.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args, action: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action not in ("schedule", "reschedule"):
            del self.fields["scheduled_at"]
        if action != "send_test":
            del self.fields["recipients"]

    def clean_recipients(self) -> list[str]:
        return self.cleaned_data["recipients"].replace(",", " ").split()


@dataclass(frozen=True)
class Transition:
    """One action on a campaign: its button's label, the question that confirms it, and the
    call to the service that does it (returning the sentence staff see after)."""

    label: str
    question: Callable[[Campaign], str]
    run: Callable[[Campaign, object, dict], str]


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
    return f"{count:,} failed deliveries will be sent again."


def _resend_unknown(campaign: Campaign, user, data: dict) -> str:
    count = campaign_resend_unknown(campaign_id=campaign.pk, user=user)
    return f"{count:,} deliveries of unknown fate will be sent again."


def _send_test(campaign: Campaign, user, data: dict) -> str:
    test = campaign_send_test(campaign_id=campaign.pk, external_ids=data["recipients"], user=user)
    return f"Test send '{test}' started."


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
    "retry_failed": Transition(
        "Retry failed",
        lambda c: f"Send the {_count_of('failed')(c):,} failed deliveries of '{c}' again?",
        _retry_failed,
    ),
    "resend_unknown": Transition(
        "Resend unknown",
        lambda c: (
            f"Send the {_count_of('unknown')(c):,} deliveries of '{c}' whose fate is "
            "unknown again? Some of these people may have got the message and will get it twice."
        ),
        _resend_unknown,
    ),
    "send_test": Transition(
        "Send test",
        lambda c: f"Send '{c}' now to chosen recipients as a test? The campaign does not change.",
        _send_test,
    ),
    "reschedule": Transition(
        "Reschedule",
        lambda c: f"Move the start of '{c}' from {moment_text(c.scheduled_at)} to another time?",
        _reschedule,
    ),
    "unschedule": Transition("Back to draft", _unschedule_question, _unschedule),
}


def _offered(campaign: Campaign, progress: dict[str, int]) -> list[str]:
    """The lifecycle's moves worth offering now that this page has a transition for (dispatch
    becomes dispatch or schedule)."""
    offered = []
    for action in campaign_actions(campaign, progress):
        offered.extend(["dispatch", "schedule"] if action == Action.DISPATCH else [action.value])
    return [action for action in offered if action in TRANSITIONS]


def transition_buttons(campaign: Campaign) -> list[tuple[str, str]]:
    """(action, label) of each allowed transition; labels carry the numbers they touch."""
    progress = campaign_progress(campaign_id=campaign.pk)
    labels = {
        "dispatch": "Dispatch now",
        "schedule": "Schedule…",
        "retry_failed": f"Retry {progress['failed']:,} failed",
        "resend_unknown": f"Resend {progress['unknown']:,} unknown",
        "send_test": "Send test…",
        "reschedule": "Reschedule…",
        "unschedule": "Back to draft",
    }
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        labels["dispatch"] = f"Dispatch for {moment_text(campaign.scheduled_at)}"
    return [
        (action, labels.get(action, TRANSITIONS[action].label))
        for action in _offered(campaign, progress)
    ]
