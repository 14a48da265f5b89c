"""A campaign's frequency caps on its admin page: turned off only by staff who may dispatch,
changeable until it starts."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.models import Campaign, CappedAction, DeliveryEvent
from tests.factories import make_audience, make_campaign, make_recipient
from tests.notifications.admin.test_base import browser_form

pytestmark = pytest.mark.django_db


def page_url(campaign: Campaign) -> str:
    return reverse("admin:notifications_campaign_change", args=[campaign.pk])


def staff_with(client, *codenames: str):
    user = get_user_model().objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def caps_events(campaign: Campaign) -> list[tuple[bool, str]]:
    rows = DeliveryEvent.objects.filter(campaign=campaign, type=DeliveryEvent.Type.CAMPAIGN_CAPS)
    return [(event.data["caps_on"], event.data["by"]) for event in rows.order_by("pk")]


def test_staff_who_may_not_dispatch_get_an_error_beside_caps_on(client):
    campaign = make_campaign(make_audience())
    staff_with(client, "view_campaign", "change_campaign")
    form = browser_form(client.get(page_url(campaign)))
    assert form["caps_on"] == ["on"]
    del form["caps_on"]  # unticked
    response = client.post(page_url(campaign), form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["caps_on"]
    assert "dispatch_campaign" in errors["caps_on"][0]
    campaign.refresh_from_db()
    assert campaign.caps_on is True
    assert caps_events(campaign) == []


def test_staff_who_may_dispatch_turn_caps_off_and_the_history_says_who(client):
    campaign = make_campaign(make_audience())
    staff_with(client, "view_campaign", "change_campaign", "dispatch_campaign")
    form = browser_form(client.get(page_url(campaign)))
    del form["caps_on"]
    form["capped_action"] = [CappedAction.SKIP]
    assert client.post(page_url(campaign), form).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.caps_on, campaign.capped_action) == (False, CappedAction.SKIP)
    assert caps_events(campaign) == [(False, "editor")]


def test_staff_who_may_not_dispatch_may_turn_caps_on_again(client):
    campaign = make_campaign(make_audience(), caps_on=False)
    staff_with(client, "view_campaign", "change_campaign")
    form = browser_form(client.get(page_url(campaign)))
    form["caps_on"] = ["on"]
    assert client.post(page_url(campaign), form).status_code == 302
    campaign.refresh_from_db()
    assert campaign.caps_on is True
    assert caps_events(campaign) == [(True, "editor")]


def test_a_scheduled_campaigns_caps_are_changed_from_its_page(staff, settings):
    settings.IMSHOP_PUSH_URL, settings.IMSHOP_API_KEY = "https://imshop.test/push", "key"
    campaign = make_campaign(make_audience(make_recipient()))
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    form = browser_form(staff.get(page_url(campaign)))
    assert "name" not in form
    form["capped_action"] = [CappedAction.SKIP]
    assert staff.post(page_url(campaign), form).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.capped_action) == ("scheduled", CappedAction.SKIP)


def test_a_running_campaigns_caps_are_shown_not_edited(staff):
    campaign = make_campaign(status=Campaign.Status.RUNNING, capped_action=CappedAction.SKIP)
    page = staff.get(page_url(campaign))
    form = browser_form(page)
    assert "caps_on" not in form
    assert "capped_action" not in form
    assert "Skip the recipient" in page.content.decode()


def test_the_history_names_the_event_and_who_turned_caps_off(staff, admin_user):
    campaign = make_campaign(make_audience())
    form = browser_form(staff.get(page_url(campaign)))
    del form["caps_on"]
    staff.post(page_url(campaign), form)
    events = reverse("admin:notifications_deliveryevent_changelist")
    page = staff.get(events, {"campaign__id__exact": campaign.pk}).content.decode()
    assert "Campaign&#x27;s frequency caps turned off or on" in page
    assert "Frequency caps turned off by admin." in page
