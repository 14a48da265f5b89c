"""A campaign's frequency caps over the API, with an API key and with a staff session: turning
them off needs the right to dispatch (400 on `caps_on` without it), and goes in the history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.models import Campaign, CappedAction, DeliveryEvent
from tests.factories import make_audience, make_campaign, make_recipient
from tests.notifications.api.conftest import session_of, staff_with

pytestmark = pytest.mark.django_db


def url(campaign: Campaign) -> str:
    return f"/api/campaigns/{campaign.pk}/"


def caps_events(campaign: Campaign) -> list[tuple[bool, str]]:
    rows = DeliveryEvent.objects.filter(campaign=campaign, type=DeliveryEvent.Type.CAMPAIGN_CAPS)
    return [(event.data["caps_on"], event.data["by"]) for event in rows.order_by("pk")]


def test_a_campaign_shows_its_caps(api):
    campaign = make_campaign(capped_action=CappedAction.SKIP)
    body = api.get(url(campaign)).json()
    assert (body["caps_on"], body["capped_action"]) == (True, "skip")


def test_a_session_without_the_dispatch_permission_gets_400_on_caps_on():
    campaign = make_campaign()
    client = session_of(staff_with("view_campaign", "change_campaign"))
    response = client.patch(url(campaign), {"caps_on": False}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["caps_on"]
    assert "dispatch_campaign" in response.json()["caps_on"][0]
    campaign.refresh_from_db()
    assert campaign.caps_on is True
    assert caps_events(campaign) == []


def test_a_session_with_the_dispatch_permission_turns_caps_off_in_the_history():
    campaign = make_campaign()
    user = staff_with("view_campaign", "change_campaign", "dispatch_campaign")
    response = session_of(user).patch(url(campaign), {"caps_on": False}, format="json")
    assert response.status_code == 200
    assert response.json()["caps_on"] is False
    assert caps_events(campaign) == [(False, user.username)]
    history = session_of(staff_with("view_deliveryevent")).get(
        "/api/events/", {"campaign": campaign.pk}
    )
    assert [row["detail"] for row in history.json()["results"]] == [
        f"Frequency caps turned off by {user.username}."
    ]


def test_a_session_without_the_dispatch_permission_turns_caps_on_again():
    campaign = make_campaign(caps_on=False)
    client = session_of(staff_with("view_campaign", "change_campaign"))
    assert client.patch(url(campaign), {"caps_on": True}, format="json").status_code == 200
    campaign.refresh_from_db()
    assert campaign.caps_on is True


def test_an_api_key_that_may_write_turns_caps_off_as_it_may_dispatch(api):
    campaign = make_campaign()
    response = api.patch(url(campaign), {"caps_on": False, "capped_action": "skip"}, format="json")
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (campaign.caps_on, campaign.capped_action) == (False, CappedAction.SKIP)
    assert caps_events(campaign) == [(False, "")]


def test_a_read_only_key_changes_no_caps(reader):
    campaign = make_campaign()
    assert reader.patch(url(campaign), {"caps_on": False}, format="json").status_code == 403
    campaign.refresh_from_db()
    assert campaign.caps_on is True


def test_an_unknown_capped_action_is_400_on_its_field(api):
    response = api.patch(url(make_campaign()), {"capped_action": "drop"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["capped_action"]


def test_a_new_campaign_can_start_with_caps_off(api):
    campaign = make_campaign()
    response = api.post(
        "/api/campaigns/",
        {
            "name": "Flash",
            "channel": "imshop",
            "template": campaign.template_id,
            "caps_on": False,
        },
        format="json",
    )
    assert response.status_code == 201
    created = Campaign.objects.get(pk=response.json()["id"])
    assert created.caps_on is False
    assert caps_events(created) == [(False, "")]


def test_a_scheduled_campaigns_caps_change_but_nothing_else(api):
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    assert api.patch(url(campaign), {"capped_action": "skip"}, format="json").status_code == 200
    response = api.patch(url(campaign), {"caps_on": False, "name": "Other"}, format="json")
    assert response.status_code == 409
    campaign.refresh_from_db()
    assert (campaign.status, campaign.capped_action, campaign.caps_on) == (
        "scheduled",
        "skip",
        True,
    )
