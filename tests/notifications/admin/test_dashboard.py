"""The dashboard at /admin/: its sections, their links, who sees them, and what they cost."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from notifications.models import Campaign, Delivery, DeliveryEvent
from notifications.sending.counters import counters_rebuild
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def finished_campaign(name: str, statuses: list[str], clicks: int = 0, **fields) -> Campaign:
    """A completed campaign with one delivery per status, kept counters and `clicks` clicks."""
    people = [make_recipient() for _ in statuses]
    campaign = make_campaign(
        make_audience(*people),
        name=name,
        status=Campaign.Status.COMPLETED,
        started_at=timezone.now() - timedelta(hours=2),
        finished_at=timezone.now() - timedelta(hours=1),
        **fields,
    )
    deliveries = [
        Delivery.objects.create(campaign=campaign, recipient=person, status=status)
        for person, status in zip(people, statuses, strict=True)
    ]
    for number in range(clicks):
        DeliveryEvent.objects.create(
            type="sms_click",
            campaign=campaign,
            delivery=deliveries[0],
            recipient=people[0],
            sms_id=number + 1,
        )
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


def running_campaign(name: str, done: int, left: int) -> Campaign:
    people = [make_recipient() for _ in range(done + left)]
    campaign = make_campaign(
        make_audience(*people),
        name=name,
        status=Campaign.Status.RUNNING,
        started_at=timezone.now(),
        materialised_at=timezone.now(),
    )
    Delivery.objects.bulk_create(
        Delivery(campaign=campaign, recipient=person, status="sent" if i < done else "pending")
        for i, person in enumerate(people)
    )
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


def staff_with(*codenames: str) -> User:
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_each_finished_number_equals_the_rows_its_link_opens(staff):
    finished_campaign(
        "Spring sale", ["sent", "sent", "sent", "failed", "skipped"], clicks=2, channel="sms"
    )
    page = staff.get("/admin/")
    row = page.context["finished"]["rows"][0]
    for count, url in [
        (row["sent"], row["sent_url"]),
        (row["failed"], row["failed_url"]),
        (row["total"], row["total_url"]),
        (row["clicks"], row["clicks_url"]),
    ]:
        assert staff.get(url).context["cl"].result_count == count, url
    assert (row["sent"], row["failed"], row["total"], row["clicks"]) == (3, 1, 5, 2)
    assert f'href="{row["sent_url"].replace("&", "&amp;")}"' in page.content.decode()


def test_running_campaign_shows_done_of_total_from_the_counters(staff):
    campaign = running_campaign("Flash sale", done=3, left=1)
    page = staff.get("/admin/")
    (row,) = page.context["running"]["rows"]
    assert (row["campaign"], row["done"], row["total"]) == (campaign, 3, 4)
    # The list's bar and words, so the two pages agree.
    assert 'aria-valuenow="75"' in row["bar"]
    assert "3 of 4" in page.content.decode()


def test_scheduled_campaign_says_how_long_until_it_starts(staff):
    make_campaign(
        name="Tomorrow",
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(hours=3, minutes=10, seconds=10),
    )
    page = staff.get("/admin/")
    assert page.context["scheduled"]["rows"][0]["until"] == "in 3 h 10 min"


def test_test_sends_and_api_messages_are_not_campaigns_on_the_dashboard(staff):
    finished_campaign("A test", ["sent"], kind=Campaign.Kind.TEST)
    finished_campaign("An API message", ["sent"], kind=Campaign.Kind.TRANSACTIONAL)
    finished_campaign("Real one", ["sent"])
    page = staff.get("/admin/")
    names = [row["campaign"].name for row in page.context["finished"]["rows"]]
    assert names == ["Real one"]


def test_campaigns_finished_over_a_week_ago_are_left_out(staff):
    old = finished_campaign("Old", ["sent"])
    Campaign.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert staff.get("/admin/").context["finished"]["rows"] == []


def test_an_empty_install_shows_three_steps_none_done(staff):
    page = staff.get("/admin/")
    steps = page.context["first_steps"]
    assert [step["title"] for step in steps] == [
        "Import recipients",
        "Write a template",
        "Create a campaign",
    ]
    assert [step["done"] for step in steps] == [False, False, False]
    assert [step["url"] for step in steps] == [
        "/admin/notifications/audience/import/",
        "/admin/notifications/messagetemplate/add/",
        "/admin/notifications/campaign/add/",
    ]


def test_a_step_is_done_when_its_rows_exist(staff):
    make_recipient()
    steps = staff.get("/admin/").context["first_steps"]
    assert [step["done"] for step in steps] == [True, False, False]


def test_the_steps_go_once_all_three_are_done(staff):
    finished_campaign("First", ["sent"])
    page = staff.get("/admin/")
    assert page.context["first_steps"] is None
    assert 'id="first-steps"' not in page.content.decode()


def test_staff_who_may_not_view_campaigns_see_no_campaign_sections(client):
    running_campaign("Secret", done=1, left=1)
    client.force_login(staff_with("view_recipient"))
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "running" not in page.context
    assert "Secret" not in page.content.decode()
    assert 'id="provider-health"' not in page.content.decode()


def test_numbers_are_plain_text_for_staff_who_may_not_open_deliveries(client):
    finished_campaign("Spring sale", ["sent", "failed"])
    client.force_login(staff_with("view_campaign"))
    page = client.get("/admin/")
    assert page.context["finished"]["rows"][0]["sent"] == 1
    assert "status__exact=sent" not in page.content.decode()


def test_the_dashboard_costs_the_same_few_queries_at_any_size(staff, django_assert_max_num_queries):
    for number in range(12):
        finished_campaign(f"Finished {number}", ["sent", "failed", "sent"], clicks=1)
        running_campaign(f"Running {number}", done=2, left=2)
    # 18 today: session and user, three section queries and their counters, the steps, and the
    # providers' state (a fixed few per channel). One more query per campaign would pass 20.
    with django_assert_max_num_queries(20):
        page = staff.get("/admin/")
    assert len(page.context["finished"]["rows"]) == 10
    assert page.context["finished"]["more"]


def test_models_are_grouped_as_staff_use_them(staff):
    groups = staff.get("/admin/").context["app_list"]
    assert [group["name"] for group in groups] == [
        "Campaigns",
        "People",
        "Delivery history",
        "Settings & integrations",
        "Administration",
    ]
    assert [model["name"] for model in groups[0]["models"]][:2] == [
        "Campaigns",
        "Message templates",
    ]
    settings = [model["name"] for model in groups[3]["models"]]
    assert "Providers" in settings
    assert "Users" in [model["name"] for model in groups[-1]["models"]]


def test_an_apps_own_page_keeps_djangos_list(staff):
    page = staff.get("/admin/notifications/")
    assert page.status_code == 200
    assert [app["app_label"] for app in page.context["app_list"]] == ["notifications"]
