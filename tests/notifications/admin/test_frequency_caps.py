"""The frequency caps' admin: the policies as sentences, saved and deleted through their
service, by staff with the model's permissions only."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from notifications.campaigns.cap_policies import frequency_cap_save
from notifications.models import FrequencyCap
from tests.notifications.admin.test_base import browser_form, delete_url, messages_of

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:notifications_frequencycap_changelist")
ADD_URL = reverse("admin:notifications_frequencycap_add")
DAY, WEEK = FrequencyCap.Period.DAY, FrequencyCap.Period.WEEK


def change_url(cap: FrequencyCap) -> str:
    return reverse("admin:notifications_frequencycap_change", args=[cap.pk])


def staff_with(client, *codenames: str):
    user = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def test_the_list_reads_each_policy_as_a_sentence_and_says_what_caps_do(staff):
    frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY, "channel": "imshop"})
    frequency_cap_save(cap_id=None, data={"limit": 5, "period": WEEK, "channel": ""})
    page = staff.get(LIST_URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "2 a day on Imshop push" in text
    assert "5 a week across all channels" in text
    assert "test sends and transactional messages are exempt" in text


def test_the_caps_are_in_the_settings_group_after_the_sending_rules(staff):
    groups = {group["app_label"]: group for group in staff.get("/admin/").context["app_list"]}
    names = [model["object_name"] for model in groups["settings"]["models"]]
    assert names[:2] == ["SendingRules", "FrequencyCap"]


def test_a_cap_added_on_its_page_is_saved_with_who_added_it(staff, admin_user):
    form = browser_form(staff.get(ADD_URL))
    # What a browser sends for a ticked box without a value of its own.
    form.update(limit=["3"], period=[DAY], channel=["leadconverter"], active=["on"])
    response = staff.post(ADD_URL, form)
    assert response.status_code == 302
    cap = FrequencyCap.objects.get()
    assert (cap.limit, cap.period, cap.channel, cap.active) == (3, DAY, "leadconverter", True)
    assert cap.updated_by == admin_user


def test_a_duplicate_channel_and_period_is_an_error_beside_period_naming_the_cap(staff):
    frequency_cap_save(cap_id=None, data={"limit": 5, "period": WEEK, "channel": ""})
    form = browser_form(staff.get(ADD_URL))
    form.update(limit=["7"], period=[WEEK], channel=[""])
    response = staff.post(ADD_URL, form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["period"]
    assert "5 a week across all channels" in errors["period"][0]
    assert FrequencyCap.objects.count() == 1


@pytest.mark.parametrize("limit", ["0", "1001"])
def test_a_limit_out_of_range_is_an_error_beside_limit(staff, limit):
    form = browser_form(staff.get(ADD_URL))
    form.update(limit=[limit], period=[DAY], channel=[""])
    response = staff.post(ADD_URL, form)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["limit"]
    assert not FrequencyCap.objects.exists()


def test_a_change_writes_only_what_was_changed_and_who_changed_it(staff, admin_user):
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY, "channel": "imshop"})
    form = browser_form(staff.get(change_url(cap)))
    form.update(limit=["4"], active=["on"])
    assert staff.post(change_url(cap), form).status_code == 302
    cap.refresh_from_db()
    assert (cap.limit, cap.channel, cap.active, cap.updated_by) == (4, "imshop", True, admin_user)


def test_caps_are_turned_off_and_on_from_the_list(staff):
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY})
    action = {"_selected_action": [cap.pk]}
    response = staff.post(LIST_URL, {**action, "action": "deactivate_selected"}, follow=True)
    assert "1 cap turned off." in messages_of(response)
    cap.refresh_from_db()
    assert cap.active is False
    staff.post(LIST_URL, {**action, "action": "activate_selected"})
    cap.refresh_from_db()
    assert cap.active is True


def test_a_cap_is_deleted_from_its_page(staff):
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY})
    assert staff.post(delete_url(cap), {"post": "yes"}).status_code == 302
    assert not FrequencyCap.objects.exists()


def test_staff_who_may_only_view_see_the_caps_and_change_nothing(client):
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY})
    staff_with(client, "view_frequencycap")
    assert client.get(LIST_URL).status_code == 200
    assert client.get(ADD_URL).status_code == 403
    assert client.post(change_url(cap), {"limit": "9", "period": DAY}).status_code == 403
    assert client.post(delete_url(cap), {"post": "yes"}).status_code == 403
    client.post(LIST_URL, {"action": "deactivate_selected", "_selected_action": [cap.pk]})
    cap.refresh_from_db()
    assert (cap.limit, cap.active) == (2, True)


def test_staff_without_any_cap_permission_cannot_open_the_list(client):
    staff_with(client, "view_campaign")
    assert client.get(LIST_URL).status_code == 403


def test_staff_with_the_change_permission_change_a_cap(client):
    cap = frequency_cap_save(cap_id=None, data={"limit": 2, "period": DAY})
    user = staff_with(client, "view_frequencycap", "change_frequencycap")
    form = browser_form(client.get(change_url(cap)))
    form.update(limit=["6"], active=["on"])
    assert client.post(change_url(cap), form).status_code == 302
    cap.refresh_from_db()
    assert (cap.limit, cap.updated_by) == (6, user)
