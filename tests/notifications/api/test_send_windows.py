"""Send windows over the API: a campaign's window fields, and the messages that ask for one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.sending_rules import sending_rules_save
from notifications.models import Campaign
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("product_window")]


def test_a_new_campaign_shows_the_sites_window(api):
    sending_rules_save(data={"window_days": 0b0011111})
    response = api.post(
        "/api/campaigns/",
        {"name": "Spring", "channel": "imshop", "template": make_template().pk},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["window_on"], body["window_start"], body["window_end"]) == (True, "10:00", "21:00")
    assert body["window_days"] == ["mon", "tue", "wed", "thu", "fri"]


def test_a_window_crossing_midnight_on_named_days_is_stored(api):
    campaign = make_campaign()
    response = api.patch(
        f"/api/campaigns/{campaign.pk}/",
        {"window_on": True, "window_start": "22:00", "window_end": "06:30", "window_days": ["sat"]},
        format="json",
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (str(campaign.window_start), str(campaign.window_end), campaign.window_days) == (
        "22:00:00",
        "06:30:00",
        1 << 5,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"window_start": "21:00", "window_end": "21:00"}, "window_end"),
        ({"window_days": []}, "window_days"),
        ({"window_days": ["someday"]}, "window_days"),
    ],
)
def test_an_impossible_window_is_400_on_its_field(api, body, field):
    campaign = make_campaign()
    response = api.patch(f"/api/campaigns/{campaign.pk}/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_scheduled_campaigns_window_changes_but_nothing_else(api):
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    url = f"/api/campaigns/{campaign.pk}/"
    assert api.patch(url, {"window_start": "09:00"}, format="json").status_code == 200
    assert api.patch(url, {"name": "Renamed"}, format="json").status_code == 409
    campaign.refresh_from_db()
    assert (campaign.status, str(campaign.window_start)) == ("scheduled", "09:00:00")


def test_a_message_asks_for_the_window_with_send_window(api):
    make_recipient(external_id="c-1")
    body = {"channel": "imshop", "recipients": ["c-1"], "content": {"title": "T", "body": "B"}}
    plain = api.post("/api/messages/", body, format="json").json()["campaign"]
    asked = api.post("/api/messages/", {**body, "send_window": True}, format="json")
    assert asked.status_code == 202
    assert Campaign.objects.get(pk=plain).window_on is False
    assert Campaign.objects.get(pk=asked.json()["campaign"]).window_on is True
