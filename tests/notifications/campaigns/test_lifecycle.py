"""The campaign lifecycle: dispatch, pause, resume, cancel and retry, and the moves refused."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from notifications.campaigns.lifecycle import (
    campaign_cancel,
    campaign_complete_if_done,
    campaign_dispatch,
    campaign_pause,
    campaign_resume,
    campaign_retry_failed,
    campaigns_start_due,
)
from notifications.errors import StateConflict
from notifications.models import Campaign
from notifications.sending.claims import deliveries_claim, deliveries_start
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.flows import (
    IMSHOP_URL,
    LEADCONVERTER_SEND,
    counted_truth,
    dispatched,
    people,
    send_all,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


# --- Dispatch -----------------------------------------------------------------------------


def test_dispatch_freezes_the_content_and_starts_the_campaign():
    campaign = make_campaign(
        make_audience(*people(2)), template=make_template(title="Hi", body="B")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign.template.body = "edited later"
    campaign.template.save()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.content["body"] == "B"
    assert campaign.started_at is not None


def test_dispatch_with_a_future_time_schedules_and_the_tick_starts_it_when_due():
    campaign = make_campaign(make_audience(*people(1)))
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaigns_start_due() == []
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    assert campaigns_start_due() == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "The audience is empty"),
        ("unconfigured", "Imshop push is not configured: IMSHOP_API_KEY is not set"),
        ("no_title", "Imshop pushes need a title."),
        ("renders_for_nobody", "The message renders for none of the first recipients"),
    ],
)
def test_dispatch_refuses_with_a_sentence_and_the_campaign_stays_a_draft(settings, setup, message):
    recipients = [] if setup == "empty" else people(2)
    fields = {"title": "Hi", "body": "B"}
    if setup == "no_title":
        fields["title"] = ""
    if setup == "renders_for_nobody":
        make_recipient(external_id="has-city", attributes={"city": "Kazan"})
        fields["body"] = "{{ city }}"
    if setup == "unconfigured":
        settings.IMSHOP_API_KEY = ""
    campaign = make_campaign(make_audience(*recipients), template=make_template(**fields))
    with pytest.raises(StateConflict, match=message):
        campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.dispatched_at is None


def test_a_campaign_is_dispatched_only_once():
    campaign = make_campaign(make_audience(*people(1)))
    campaign_dispatch(campaign_id=campaign.pk)
    with pytest.raises(StateConflict, match=r"Cannot dispatch .*: it is running\."):
        campaign_dispatch(campaign_id=campaign.pk)


# --- Pause, cancel, retry ---------------------------------------------------------------


def test_pause_takes_back_claims_whose_request_has_not_begun_and_resume_sends_them_once(mocked):
    campaign = dispatched("leadconverter", people(4))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=4, lease_seconds=60)
    campaign_pause(campaign_id=campaign.pk, reason="checking the text")
    assert (
        deliveries_start(campaign_id=campaign.pk, token=token, ids=[c.id for c in claimed]) == set()
    )
    assert statuses(campaign) == {"pending": 4} == counted_truth(campaign)
    campaign.refresh_from_db()
    assert campaign.pause_reason == "checking the text"
    campaign_resume(campaign_id=campaign.pk)
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    send_all(campaign)
    assert statuses(campaign) == {"sent": 4}
    assert len(mocked.calls) == 1


def test_cancel_cancels_what_has_not_gone_out_and_nothing_starts_after_it():
    campaign = dispatched("leadconverter", people(5))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=60)
    campaign_cancel(campaign_id=campaign.pk)
    assert (
        deliveries_start(campaign_id=campaign.pk, token=token, ids=[c.id for c in claimed]) == set()
    )
    assert statuses(campaign) == {"cancelled": 5} == counted_truth(campaign)
    with pytest.raises(StateConflict, match="it is cancelled"):
        campaign_resume(campaign_id=campaign.pk)


def test_retry_failed_sends_the_failed_again(mocked):
    campaign = dispatched("imshop", people(2), title="T", body="B")
    mocked.post(IMSHOP_URL, status=400, json={"error": "Bad Request", "message": "nope"})
    send_all(campaign)
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    assert campaign_retry_failed(campaign_id=campaign.pk) == 2
    mocked.replace(responses.POST, IMSHOP_URL, json={"success": True})
    send_all(campaign)
    assert statuses(campaign) == {"sent": 2} == counted_truth(campaign)


@pytest.mark.parametrize(
    ("status", "action", "call"),
    [
        ("draft", "pause", campaign_pause),
        ("completed", "pause", campaign_pause),
        ("running", "resume", campaign_resume),
        ("completed", "cancel", campaign_cancel),
        ("draft", "retry", campaign_retry_failed),
    ],
)
def test_illegal_transitions_are_refused_with_a_sentence(status, action, call):
    campaign = make_campaign(name="Spring", status=status)
    with pytest.raises(StateConflict) as refused:
        call(campaign_id=campaign.pk)
    assert str(refused.value) == f"Cannot {action} 'Spring': it is {status}."
