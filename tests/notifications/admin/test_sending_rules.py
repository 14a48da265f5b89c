"""The sending rules' page, and the send window on the campaign page."""

from datetime import time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.sending_rules import sending_rules, sending_rules_save
from notifications.models import Campaign, SendingRules
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.admin.test_base import browser_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("product_window")]

RULES_URL = reverse("admin:notifications_sendingrules_change", args=[1])


def test_the_rules_list_leads_to_the_one_page(staff):
    response = staff.get(reverse("admin:notifications_sendingrules_changelist"))
    assert response.status_code == 302
    assert response.url == RULES_URL
    assert SendingRules.objects.count() == 1


def test_the_rules_can_be_neither_added_nor_deleted(staff):
    sending_rules()
    assert staff.get(reverse("admin:notifications_sendingrules_add")).status_code == 403
    delete = reverse("admin:notifications_sendingrules_delete", args=[1])
    assert staff.get(delete).status_code == 403


def test_the_rules_are_changed_from_their_page_by_the_service(staff):
    form = browser_form(staff.get(RULES_URL))
    form.update(time_zone=["Asia/Kathmandu"], window_start=["09:30"], window_days=["0", "6"])
    response = staff.post(RULES_URL, form)
    assert response.status_code == 302
    rules = sending_rules()
    assert (rules.time_zone, rules.window_start, rules.window_days) == (
        "Asia/Kathmandu",
        time(9, 30),
        0b1000001,
    )
    assert rules.updated_by.username == "admin"


def test_an_impossible_window_is_an_error_beside_its_field(staff):
    form = browser_form(staff.get(RULES_URL))
    form.update(window_start=["21:00"], window_end=["21:00"])
    response = staff.post(RULES_URL, form)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["window_end"]
    assert sending_rules().window_start == time(10)


def test_without_the_change_permission_the_rules_are_read_only(client):
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_sendingrules"))
    client.force_login(user)
    sending_rules()
    page = client.get(RULES_URL)
    assert page.status_code == 200
    assert 'name="window_start"' not in page.content.decode()
    client.post(RULES_URL, {"time_zone": "Asia/Kathmandu", "window_start": "09:00"})
    assert sending_rules().time_zone != "Asia/Kathmandu"


def test_the_rules_are_in_the_settings_group(staff):
    groups = {group["app_label"]: group for group in staff.get("/admin/").context["app_list"]}
    names = [model["object_name"] for model in groups["settings"]["models"]]
    assert names[0] == "SendingRules"


def test_a_new_campaign_form_starts_with_the_sites_window(staff):
    sending_rules_save(data={"window_start": time(11), "window_days": 0b0011111})
    form = browser_form(staff.get(reverse("admin:notifications_campaign_add")))
    assert form["window_start"] == ["11:00"]
    assert form["window_days"] == ["0", "1", "2", "3", "4"]
    assert "window_on" in form  # ticked


def test_a_scheduled_campaigns_window_is_saved_from_its_page(staff, settings):
    settings.IMSHOP_PUSH_URL, settings.IMSHOP_API_KEY = "https://imshop.test/push", "key"
    campaign = make_campaign(make_audience(make_recipient()), template=make_template())
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    form = browser_form(staff.get(url))
    assert "name" not in form
    form.update(window_on=["on"], window_start=["08:00"], window_end=["20:00"])
    response = staff.post(url, form)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.window_on, campaign.window_start) == (
        "scheduled",
        True,
        time(8),
    )


def test_a_running_campaigns_window_is_shown_in_one_line(staff):
    campaign = make_campaign(
        status=Campaign.Status.RUNNING, window_on=True, window_start=time(22), window_end=time(6)
    )
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    assert "22:00 to 06:00 local time, Mon, Tue" in page.content.decode()
    assert "window_start" not in browser_form(page)
