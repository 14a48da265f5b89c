"""What can be done to a campaign: the actions, the table of which each status allows, the
moves worth offering staff now, and the sentence that refuses the others.

The lifecycle's services (`lifecycle.campaign_lock`) refuse what the table does not allow; the
admin's buttons (`campaign_actions`) and the API's 409s come from the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.models import Campaign


class Action(StrEnum):
    """What staff and integrations can do to a campaign (the API's and the admin's names)."""

    DISPATCH = "dispatch"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY_FAILED = "retry_failed"
    RESEND_UNKNOWN = "resend_unknown"
    SEND_TEST = "send_test"
    EDIT_CONTENT = "edit_content"
    RESCHEDULE = "reschedule"
    UNSCHEDULE = "unschedule"
    COPY = "copy"
    CHANGE = "change"
    DELETE = "delete"


_S = Campaign.Status
# The lifecycle: the actions each status allows. Services refuse the rest (StateConflict, 409);
# the admin offers buttons for these only; the tests walk this table.
# Content changes only while nothing is being sent (paused), or once all was (completed, before a
# retry); a copy can be made of any campaign.
ALLOWED: dict[str, frozenset[Action]] = {
    _S.DRAFT: frozenset(
        {
            Action.DISPATCH,
            Action.CANCEL,
            Action.SEND_TEST,
            Action.COPY,
            Action.CHANGE,
            Action.DELETE,
        }
    ),
    _S.SCHEDULED: frozenset(
        {
            Action.RESCHEDULE,
            Action.UNSCHEDULE,
            Action.PAUSE,
            Action.CANCEL,
            Action.SEND_TEST,
            Action.COPY,
        }
    ),
    _S.RUNNING: frozenset(
        {
            Action.PAUSE,
            Action.CANCEL,
            Action.RETRY_FAILED,
            Action.RESEND_UNKNOWN,
            Action.SEND_TEST,
            Action.COPY,
        }
    ),
    _S.PAUSED: frozenset(
        {
            Action.RESUME,
            Action.CANCEL,
            Action.RETRY_FAILED,
            Action.RESEND_UNKNOWN,
            Action.EDIT_CONTENT,
            Action.SEND_TEST,
            Action.COPY,
        }
    ),
    _S.COMPLETED: frozenset(
        {
            Action.RETRY_FAILED,
            Action.RESEND_UNKNOWN,
            Action.EDIT_CONTENT,
            Action.SEND_TEST,
            Action.COPY,
        }
    ),
    _S.CANCELLED: frozenset({Action.COPY}),
}

# How a refusal says it, one whole sentence per action (Russian words them differently):
# "Cannot retry 'Spring sale': it is cancelled."
_REFUSALS = {
    Action.DISPATCH: _("Cannot dispatch '%(name)s': it is %(status)s."),
    Action.PAUSE: _("Cannot pause '%(name)s': it is %(status)s."),
    Action.RESUME: _("Cannot resume '%(name)s': it is %(status)s."),
    Action.CANCEL: _("Cannot cancel '%(name)s': it is %(status)s."),
    Action.RETRY_FAILED: _("Cannot retry '%(name)s': it is %(status)s."),
    Action.RESEND_UNKNOWN: _("Cannot resend '%(name)s': it is %(status)s."),
    Action.SEND_TEST: _("Cannot send a test of '%(name)s': it is %(status)s."),
    Action.EDIT_CONTENT: _("Cannot edit the message of '%(name)s': it is %(status)s."),
    Action.RESCHEDULE: _("Cannot reschedule '%(name)s': it is %(status)s."),
    Action.UNSCHEDULE: _("Cannot unschedule '%(name)s': it is %(status)s."),
    Action.COPY: _("Cannot copy '%(name)s': it is %(status)s."),
    Action.CHANGE: _("Cannot change '%(name)s': it is %(status)s."),
    Action.DELETE: _("Cannot delete '%(name)s': it is %(status)s."),
}

# Retrying and resending act on the deliveries of one status: with none, nothing to offer.
_NEEDS_DELIVERIES = {Action.RETRY_FAILED: "failed", Action.RESEND_UNKNOWN: "unknown"}


# Acting on a campaign's deliveries again: once retention began to remove them, there are
# none left to act on (and a new message would reach no one).
NEEDS_DETAILS = frozenset({Action.RETRY_FAILED, Action.RESEND_UNKNOWN, Action.EDIT_CONTENT})


def campaign_allows(campaign: Campaign, action: Action) -> bool:
    """Whether the lifecycle lets `campaign`, as it stands, take `action`."""
    if campaign.details_removed_at is not None and action in NEEDS_DETAILS:
        return False
    return action in ALLOWED[campaign.status]


def campaign_actions(campaign: Campaign, progress: Mapping[str, int]) -> list[Action]:
    """The moves worth offering staff now, in the table's order.

    Only campaigns are steered by hand: test sends and API messages run by themselves. Change
    and delete are the edit form's own buttons, not moves.
    """
    if campaign.kind != Campaign.Kind.CAMPAIGN:
        return []
    return [
        action
        for action in Action
        if action not in (Action.CHANGE, Action.DELETE)
        and campaign_allows(campaign, action)
        and (action not in _NEEDS_DELIVERIES or progress.get(_NEEDS_DELIVERIES[action], 0) > 0)
        and not (
            # A completed campaign's new message would reach no one unless something is
            # retried or resent.
            action == Action.EDIT_CONTENT
            and campaign.status == Campaign.Status.COMPLETED
            and not (progress.get("failed", 0) or progress.get("unknown", 0))
        )
    ]


def refusal_sentence(campaign: Campaign, action: Action) -> str:
    """Why the lifecycle refuses `action` to `campaign`: "Cannot retry 'Spring': it is
    cancelled." The services raise it; the pages say it before anyone clicks."""
    if campaign.details_removed_at is not None and action in NEEDS_DETAILS:
        return gettext(
            "Cannot act on the deliveries of '%(name)s': they were removed, only its numbers "
            "are kept."
        ) % {"name": campaign.name}
    return _REFUSALS[action] % {
        "name": campaign.name,
        "status": campaign.get_status_display().lower(),
    }
