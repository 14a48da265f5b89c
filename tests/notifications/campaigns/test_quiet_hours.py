"""Quiet hours when a campaign is materialised: who waits for their window, until when, and how
a crowd waiting for one opening is spread at the provider's pace. The clock is frozen."""

from datetime import UTC, datetime, time, timedelta

import pytest

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.campaigns.plan import campaign_send_plan
from notifications.campaigns.selectors import campaign_message
from notifications.campaigns.windows import ALL_DAYS
from notifications.models import Delivery, DeliveryEvent
from tests.factories import DAYTIME_WINDOW, make_audience, make_campaign, make_recipient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]

# 23:00 in Moscow on a Monday.
MOSCOW_23H = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)


def windowed_campaign(*recipients, start=time(10), end=time(21)):
    campaign = make_campaign(
        make_audience(*recipients),
        channel="leadconverter",
        window_on=True,
        window_start=start,
        window_end=end,
        window_days=ALL_DAYS,
    )
    campaign_dispatch(campaign_id=campaign.pk)
    return campaign


def person(zone: str, number: int):
    return make_recipient(timezone=zone, addresses={"leadconverter": str(100 + number)})


def due_times(campaign) -> dict[str, datetime | None]:
    return {
        d.recipient.timezone: d.next_attempt_at
        for d in Delivery.objects.filter(campaign=campaign).select_related("recipient")
    }


def test_at_23h_in_moscow_each_recipient_waits_for_10h_in_their_own_zone(frozen):
    frozen(MOSCOW_23H)
    zones = ["Europe/Moscow", "Asia/Vladivostok", "Asia/Kathmandu", "America/New_York"]
    campaign = windowed_campaign(*(person(zone, i) for i, zone in enumerate(zones)))
    assert campaign_materialise(campaign_id=campaign.pk) == {"pending": 4}
    assert due_times(campaign) == {
        # 10:00 on Tuesday in Moscow (UTC+3), Vladivostok (UTC+10), Kathmandu (UTC+5:45).
        "Europe/Moscow": datetime(2026, 12, 8, 7, 0, tzinfo=UTC),
        "Asia/Vladivostok": datetime(2026, 12, 8, 0, 0, tzinfo=UTC),
        "Asia/Kathmandu": datetime(2026, 12, 8, 4, 15, tzinfo=UTC),
        # 15:00 in New York: inside the window, due now.
        "America/New_York": None,
    }


def test_a_wait_is_not_an_attempt_and_writes_no_event(frozen):
    frozen(MOSCOW_23H)
    campaign = windowed_campaign(person("Europe/Moscow", 1))
    campaign_materialise(campaign_id=campaign.pk)
    delivery = Delivery.objects.get(campaign=campaign)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert not DeliveryEvent.objects.filter(delivery=delivery).exists()


def test_a_recipient_without_a_zone_waits_in_the_sites_zone(frozen, settings):
    frozen(MOSCOW_23H)
    settings.TIME_ZONE = "Europe/Moscow"
    campaign = windowed_campaign(person("", 1))
    campaign_materialise(campaign_id=campaign.pk)
    assert due_times(campaign) == {"": datetime(2026, 12, 8, 7, 0, tzinfo=UTC)}


def test_on_the_day_new_york_springs_forward_the_window_opens_at_10h_daylight_time(frozen):
    # Midnight in New York on 14 March 2027, standard time (UTC-5); at 02:00 the clocks jump.
    frozen(datetime(2027, 3, 14, 5, 0, tzinfo=UTC))
    campaign = windowed_campaign(person("America/New_York", 1))
    campaign_materialise(campaign_id=campaign.pk)
    assert due_times(campaign) == {"America/New_York": datetime(2027, 3, 14, 14, 0, tzinfo=UTC)}


def test_a_window_without_the_skipped_hour_opens_at_the_jump(frozen):
    frozen(datetime(2027, 3, 14, 5, 0, tzinfo=UTC))
    campaign = windowed_campaign(person("America/New_York", 1), start=time(2, 30), end=time(4))
    campaign_materialise(campaign_id=campaign.pk)
    assert due_times(campaign) == {"America/New_York": datetime(2027, 3, 14, 7, 0, tzinfo=UTC)}


def test_the_skipped_and_a_campaign_without_a_window_do_not_wait(frozen):
    frozen(MOSCOW_23H)
    no_address = make_recipient(timezone="Europe/Moscow")
    campaign = make_campaign(make_audience(person("Europe/Moscow", 1), no_address))
    campaign.channel = "leadconverter"
    campaign.save()
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    assert list(Delivery.objects.values_list("status", "next_attempt_at").order_by("status")) == [
        ("pending", None),
        ("skipped", None),
    ]


def test_a_crowd_waiting_for_one_opening_is_let_out_at_the_providers_pace(frozen, settings):
    frozen(MOSCOW_23H)
    # Two recipients a second: one per request, two requests a second.
    settings.LEADCONVERTER_RATE = "2/s"
    settings.LEADCONVERTER_BATCH_SIZE = "1"
    crowd = [person("Europe/Moscow", i) for i in range(7)]
    skipped = make_recipient(timezone="Europe/Moscow")
    crowd.insert(3, skipped)
    campaign = windowed_campaign(*crowd)
    # Ranges of three ids: the spread goes on across them.
    campaign_materialise(campaign_id=campaign.pk, chunk=3)
    opening = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    due = list(
        Delivery.objects.filter(campaign=campaign, status="pending")
        .order_by("recipient_id")
        .values_list("next_attempt_at", flat=True)
    )
    assert due == [opening + timedelta(seconds=n / 2) for n in range(7)]


def test_the_send_plan_counts_who_waits_as_dispatch_holds_them_and_waits_in_its_eta(frozen):
    frozen(MOSCOW_23H)
    zones = ["Europe/Moscow", "Asia/Vladivostok", "Asia/Kathmandu", "America/New_York"]
    campaign = make_campaign(
        make_audience(*(person(zone, i) for i, zone in enumerate(zones))),
        channel="leadconverter",
        **DAYTIME_WINDOW,
    )
    plan = campaign_send_plan(campaign=campaign, content=campaign_message(campaign))
    assert plan.waiting.count == 3
    assert plan.waiting.first_opening == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    # The last to open is Moscow, eleven hours from now.
    assert plan.eta_seconds >= 11 * 3600
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    held = Delivery.objects.filter(campaign=campaign, next_attempt_at__isnull=False)
    assert held.count() == plan.waiting.count
