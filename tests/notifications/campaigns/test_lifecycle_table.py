"""The lifecycle table is the one rule: every service move obeys it, and the desk offers it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.actions import ALLOWED, Action, campaign_actions
from notifications.campaigns.direct import campaign_send_test
from notifications.campaigns.lifecycle import (
    campaign_cancel,
    campaign_dispatch,
    campaign_pause,
    campaign_resend_unknown,
    campaign_resume,
    campaign_retry_failed,
)
from notifications.campaigns.services import (
    campaign_content_edit,
    campaign_copy,
    campaign_delete,
    campaign_reschedule,
    campaign_save,
    campaign_unschedule,
)
from notifications.errors import NotFound, StateConflict
from notifications.models import Campaign
from tests.factories import make_audience, make_campaign, make_recipient

MOVES = {
    Action.DISPATCH: lambda c, r: campaign_dispatch(campaign_id=c.pk),
    Action.PAUSE: lambda c, r: campaign_pause(campaign_id=c.pk),
    Action.RESUME: lambda c, r: campaign_resume(campaign_id=c.pk),
    Action.CANCEL: lambda c, r: campaign_cancel(campaign_id=c.pk),
    Action.RETRY_FAILED: lambda c, r: campaign_retry_failed(campaign_id=c.pk),
    Action.RESEND_UNKNOWN: lambda c, r: campaign_resend_unknown(campaign_id=c.pk),
    Action.SEND_TEST: lambda c, r: campaign_send_test(
        campaign_id=c.pk, external_ids=[r.external_id]
    ),
    Action.EDIT_CONTENT: lambda c, r: campaign_content_edit(
        campaign_id=c.pk, content={"title": "New", "body": "New text"}
    ),
    Action.RESCHEDULE: lambda c, r: campaign_reschedule(
        campaign_id=c.pk, scheduled_at=timezone.now() + timedelta(hours=1)
    ),
    Action.UNSCHEDULE: lambda c, r: campaign_unschedule(campaign_id=c.pk),
    Action.COPY: lambda c, r: campaign_copy(campaign_id=c.pk),
    Action.CHANGE: lambda c, r: campaign_save(campaign_id=c.pk, data={"name": "Renamed"}),
    Action.DELETE: lambda c, r: campaign_delete(campaign_id=c.pk),
}


def test_the_table_names_every_status_and_every_action_has_a_service():
    assert set(ALLOWED) == set(Campaign.Status.values)
    assert set(MOVES) == set(Action)


@pytest.mark.django_db
@pytest.mark.parametrize("status", Campaign.Status.values)
@pytest.mark.parametrize("action", list(Action))
def test_a_service_refuses_exactly_the_moves_the_table_does_not_allow(status, action):
    recipient = make_recipient(addresses={"imshop": "u-1"})
    campaign = make_campaign(make_audience(recipient), status=status)
    refusal = f": it is {campaign.get_status_display().lower()}."
    if action not in ALLOWED[status]:
        with pytest.raises(StateConflict, match=re.escape(refusal)):
            MOVES[action](campaign, recipient)
    else:
        # An allowed move may still be refused for another reason (no provider is set up in
        # tests): never for the campaign's status.
        assert refusal not in _refusal_of(MOVES[action], campaign, recipient)


def _refusal_of(move, campaign, recipient) -> str:
    try:
        move(campaign, recipient)
    except StateConflict as exc:
        return str(exc)
    return ""


@pytest.mark.django_db
def test_a_move_on_a_campaign_that_does_not_exist_is_not_found():
    with pytest.raises(NotFound, match="Campaign 0 does not exist"):
        campaign_pause(campaign_id=0)


@pytest.mark.django_db
def test_staff_are_offered_retry_and_resend_only_when_there_are_rows_to_move():
    campaign = make_campaign(status=Campaign.Status.PAUSED)
    nothing = {"failed": 0, "unknown": 0}
    assert campaign_actions(campaign, nothing) == [
        Action.RESUME,
        Action.CANCEL,
        Action.SEND_TEST,
        Action.EDIT_CONTENT,
        Action.COPY,
    ]
    some = {"failed": 3, "unknown": 1}
    assert campaign_actions(campaign, some) == [
        Action.RESUME,
        Action.CANCEL,
        Action.RETRY_FAILED,
        Action.RESEND_UNKNOWN,
        Action.SEND_TEST,
        Action.EDIT_CONTENT,
        Action.COPY,
    ]


@pytest.mark.django_db
def test_a_completed_campaign_offers_a_new_message_only_when_something_is_to_send_again():
    campaign = make_campaign(status=Campaign.Status.COMPLETED)
    assert Action.EDIT_CONTENT not in campaign_actions(campaign, {"failed": 0, "unknown": 0})
    assert Action.EDIT_CONTENT in campaign_actions(campaign, {"failed": 2, "unknown": 0})


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Campaign.Kind.TEST, Campaign.Kind.TRANSACTIONAL])
def test_test_sends_and_messages_are_offered_no_moves(kind):
    campaign = make_campaign(status=Campaign.Status.RUNNING, kind=kind)
    assert campaign_actions(campaign, {"failed": 5, "unknown": 5}) == []
