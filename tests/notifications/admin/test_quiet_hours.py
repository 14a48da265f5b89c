"""The desk while quiet hours hold part of a campaign: the sentence, and its count equal to the
rows its link opens."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import translation

from notifications.admin.desk import deliveries_url
from notifications.admin.live import campaign_live
from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from tests.factories import DAYTIME_WINDOW, make_audience, make_campaign, make_recipient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]

# 23:00 in Moscow, 15:00 in New York.
MOSCOW_23H = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)


@pytest.fixture
def held_campaign(frozen):
    frozen(MOSCOW_23H)
    zones = ["Europe/Moscow", "Asia/Vladivostok", "Asia/Kathmandu", "America/New_York"]
    recipients = [
        make_recipient(timezone=zone, addresses={"leadconverter": str(100 + i)})
        for i, zone in enumerate(zones)
    ]
    campaign = make_campaign(
        make_audience(*recipients),
        channel="leadconverter",
        **DAYTIME_WINDOW,
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def test_the_desk_says_how_many_wait_for_quiet_hours_to_end_and_from_when(held_campaign):
    live = campaign_live(held_campaign)
    assert live["quiet_hours_text"] == "Waiting for quiet hours to end: 3, from 10:00 their time"


def test_the_desks_count_of_those_waiting_is_the_rows_its_link_opens(held_campaign, staff):
    response = staff.get(deliveries_url(held_campaign.pk, stage="quiet_hours"))
    assert response.status_code == 200
    shown = response.context["cl"].result_list
    assert sorted(d.recipient.timezone for d in shown) == [
        "Asia/Kathmandu",
        "Asia/Vladivostok",
        "Europe/Moscow",
    ]


def test_a_campaign_without_a_window_has_no_quiet_hours_line(frozen):
    frozen(MOSCOW_23H)
    campaign = make_campaign(
        make_audience(make_recipient(timezone="Europe/Moscow", addresses={"leadconverter": "1"})),
        channel="leadconverter",
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign_live(campaign)["quiet_hours_text"] == ""


def test_a_drafts_send_plan_shows_who_is_outside_their_window_now(frozen, staff):
    frozen(MOSCOW_23H)
    zones = ["Europe/Moscow", "Asia/Vladivostok", "America/New_York"]
    campaign = make_campaign(
        make_audience(
            *(
                make_recipient(timezone=zone, addresses={"leadconverter": str(i)})
                for i, zone in enumerate(zones)
            )
        ),
        channel="leadconverter",
        **DAYTIME_WINDOW,
    )
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert '<span data-plan="outside_window">2</span>' in html
    assert 'id="plan-first-opening"' in html


def test_the_quiet_hours_line_reads_in_russian(held_campaign):
    with translation.override("ru"):
        text = campaign_live(held_campaign)["quiet_hours_text"]
    assert text == "Ждут окончания тихих часов: 3, с 10:00 по их местному времени"


def test_the_personalisation_warning_counts_the_requests_time_not_the_wait(frozen, staff):
    """The plan's ETA holds the wait for the window; what personalised texts cost does not."""
    frozen(MOSCOW_23H)
    people = [
        make_recipient(first_name=name, timezone="Europe/Moscow", addresses={"imshop": n})
        for n, name in (("1", "Anna"), ("2", "Boris"), ("3", "Vera"))
    ]
    campaign = make_campaign(
        make_audience(*people),
        channel="imshop",
        **DAYTIME_WINDOW,
    )
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "3 requests (under a minute) instead of 1 (under a minute)" in html
    assert "≈ 11 h" in html  # the plan's own estimate still waits for 07:00 UTC
