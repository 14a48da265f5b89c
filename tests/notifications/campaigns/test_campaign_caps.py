"""A campaign's frequency caps as staff set them: on unless someone who may dispatch turns
them off, changeable until the campaign starts, every turn written in its history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.services import campaign_copy, campaign_save
from notifications.errors import InvalidInput, StateConflict
from notifications.models import Campaign, CappedAction, DeliveryEvent
from notifications.reasons import reason_text
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def caps_events(campaign: Campaign) -> list[tuple[bool, str, str]]:
    rows = DeliveryEvent.objects.filter(
        campaign=campaign, type=DeliveryEvent.Type.CAMPAIGN_CAPS
    ).order_by("pk")
    return [(e.data["caps_on"], e.data["by"], reason_text(e.detail)) for e in rows]


def test_turning_caps_off_without_the_right_to_dispatch_is_an_error_on_caps_on(admin_user):
    campaign = make_campaign()
    with pytest.raises(InvalidInput) as refused:
        campaign_save(campaign_id=campaign.pk, data={"caps_on": False}, user=admin_user)
    assert list(refused.value.message_dict) == ["caps_on"]
    assert "dispatch_campaign" in str(refused.value)
    campaign.refresh_from_db()
    assert campaign.caps_on is True
    assert caps_events(campaign) == []


def test_turning_caps_off_and_on_again_is_written_in_the_history_with_who(admin_user):
    campaign = make_campaign()
    campaign_save(
        campaign_id=campaign.pk, data={"caps_on": False}, user=admin_user, may_dispatch=True
    )
    campaign_save(campaign_id=campaign.pk, data={"caps_on": True}, user=admin_user)
    campaign.refresh_from_db()
    assert campaign.caps_on is True
    assert caps_events(campaign) == [
        (False, "admin", "Frequency caps turned off by admin."),
        (True, "admin", "Frequency caps turned on again by admin."),
    ]


def test_the_event_reads_as_its_type_in_the_campaigns_history():
    assert DeliveryEvent.Type("campaign_caps").label == "Campaign's frequency caps turned off or on"


def test_a_new_campaign_made_with_caps_off_records_it():
    campaign = campaign_save(
        campaign_id=None,
        data={"name": "Flash sale", "channel": "imshop", "caps_on": False},
        may_dispatch=True,
    )
    assert caps_events(campaign) == [(False, "", "Frequency caps turned off.")]


def test_saving_caps_as_they_are_needs_no_permission_and_writes_nothing():
    campaign = make_campaign(caps_on=False)
    campaign_save(campaign_id=campaign.pk, data={"caps_on": False, "name": "Renamed"})
    assert caps_events(campaign) == []


def test_what_becomes_of_capped_deliveries_is_anyones_who_may_change_the_campaign():
    campaign = make_campaign()
    campaign_save(campaign_id=campaign.pk, data={"capped_action": CappedAction.SKIP})
    campaign.refresh_from_db()
    assert campaign.capped_action == CappedAction.SKIP


@pytest.mark.usefixtures("test_providers")
def test_a_scheduled_campaigns_caps_change_but_not_once_it_runs():
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    campaign_save(
        campaign_id=campaign.pk,
        data={"caps_on": False, "capped_action": CappedAction.SKIP},
        may_dispatch=True,
    )
    with pytest.raises(StateConflict):
        campaign_save(campaign_id=campaign.pk, data={"caps_on": True, "name": "Renamed"})
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    with pytest.raises(StateConflict):
        campaign_save(campaign_id=campaign.pk, data={"caps_on": True})
    campaign.refresh_from_db()
    assert (campaign.caps_on, campaign.capped_action) == (False, CappedAction.SKIP)


def test_a_copy_starts_with_caps_on_and_keeps_what_becomes_of_capped_deliveries():
    source = make_campaign(caps_on=False, capped_action=CappedAction.SKIP)
    copy, _ = campaign_copy(campaign_id=source.pk)
    assert (copy.caps_on, copy.capped_action) == (True, CappedAction.SKIP)
