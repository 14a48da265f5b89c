"""A campaign's report: rates as numerator and denominator, and clicks by link, from rows."""

from __future__ import annotations

import itertools

import pytest

from notifications.campaigns.report import NO_LINK, LinkClicks, Rate, campaign_report
from notifications.campaigns.report import campaign_link_clicks as link_clicks
from notifications.models import Campaign, Delivery, DeliveryEvent, Recipient
from notifications.sending.counters import counters_rebuild
from tests.factories import make_campaign, make_recipient

pytestmark = pytest.mark.django_db

_sms_ids = itertools.count(100)


def _deliveries(campaign: Campaign, **statuses: int) -> list[Delivery]:
    made = [
        Delivery.objects.create(campaign=campaign, recipient=make_recipient(), status=status)
        for status, count in statuses.items()
        for _ in range(count)
    ]
    counters_rebuild(campaign_id=campaign.pk)
    return made


def _sms(campaign: Campaign, kind: str, sms_id: int, recipient: Recipient | None = None, **fields):
    return DeliveryEvent.objects.create(
        type=kind, campaign=campaign, recipient=recipient, sms_id=sms_id, **fields
    )


def test_a_rate_is_its_numerator_over_its_denominator():
    assert Rate(3, 12).ratio == 0.25


def test_a_rate_of_nothing_has_no_ratio():
    assert Rate(0, 0).ratio is None


def test_delivery_rates_are_shares_of_the_deliveries_not_skipped():
    campaign = make_campaign(status="completed")
    _deliveries(campaign, sent=6, failed=2, unknown=1, skipped=5, cancelled=1)

    report = campaign_report(campaign_id=campaign.pk)

    assert report.reachable == 10
    assert report.rates["sent"] == Rate(6, 10)
    assert report.rates["failed"] == Rate(2, 10)
    assert report.rates["unknown"] == Rate(1, 10)


def test_sms_rates_count_each_sms_once_whatever_order_its_reports_came_in():
    campaign = make_campaign(status="completed")
    # SMS 1 delivered and clicked twice; SMS 2 lost before its send was reported; SMS 3 sent
    # twice; SMS 4 clicked with no send reported (delivered); SMS 5 clicked, then lost.
    _sms(campaign, "sms_sent", 1)
    _sms(campaign, "sms_click", 1)
    _sms(campaign, "sms_click", 1)
    _sms(campaign, "sms_lost", 2)
    _sms(campaign, "sms_sent", 2)
    _sms(campaign, "sms_sent", 3)
    _sms(campaign, "sms_sent", 3)
    _sms(campaign, "sms_click", 4)
    _sms(campaign, "sms_click", 5)
    _sms(campaign, "sms_lost", 5)

    report = campaign_report(campaign_id=campaign.pk)

    assert report.rates["sms_delivered"] == Rate(3, 5)
    assert report.rates["sms_lost"] == Rate(2, 5)
    # The click on the lost SMS 5 counts among the clicked, not among the delivered.
    assert report.rates["click_through"] == Rate(3, 3)


def test_a_campaign_with_no_sms_has_no_sms_ratios():
    campaign = make_campaign(status="completed")
    _deliveries(campaign, sent=2)

    rates = campaign_report(campaign_id=campaign.pk).rates

    assert rates["sms_delivered"].ratio is None
    assert rates["click_through"].ratio is None


def test_clicks_by_link_count_each_person_once_and_every_click():
    campaign = make_campaign(status="completed")
    anna, boris = make_recipient(), make_recipient()
    for _ in range(3):
        _sms(campaign, "sms_click", 1, anna, link="https://a.test")
    _sms(campaign, "sms_click", 2, boris, link="https://a.test")
    _sms(campaign, "sms_click", 2, boris, link="https://b.test")

    assert link_clicks(campaign_id=campaign.pk) == [
        LinkClicks(link="https://a.test", clickers=2, clicks=4),
        LinkClicks(link="https://b.test", clickers=1, clicks=1),
    ]


def test_a_click_whose_recipient_is_unknown_counts_its_sms_as_the_clicker():
    campaign = make_campaign(status="completed")
    _sms(campaign, "sms_click", 7, link="https://a.test")
    _sms(campaign, "sms_click", 7, link="https://a.test")
    _sms(campaign, "sms_click", 8, link="https://a.test")
    _sms(campaign, "sms_click", 9, make_recipient(), link="https://a.test")

    assert link_clicks(campaign_id=campaign.pk) == [
        LinkClicks(link="https://a.test", clickers=3, clicks=4)
    ]


def test_clicks_that_name_no_link_are_shown_as_no_link():
    campaign = make_campaign(status="completed")
    _sms(campaign, "sms_click", 1, make_recipient())

    [row] = link_clicks(campaign_id=campaign.pk)

    assert (row.link, row.label) == ("", NO_LINK)


def test_links_are_most_clicked_first():
    campaign = make_campaign(status="completed")
    person = make_recipient()
    _sms(campaign, "sms_click", 1, person, link="https://once.test")
    for _ in range(2):
        _sms(campaign, "sms_click", 1, person, link="https://twice.test")

    links = [row.link for row in link_clicks(campaign_id=campaign.pk)]

    assert links == ["https://twice.test", "https://once.test"]


def test_clicks_by_link_leave_out_other_campaigns_and_other_events():
    campaign, other = make_campaign(status="completed"), make_campaign(status="completed")
    _sms(campaign, "sms_click", 1, make_recipient(), link="https://a.test")
    _sms(campaign, "sms_sent", 2, make_recipient(), link="https://a.test")
    _sms(other, "sms_click", 3, make_recipient(), link="https://a.test")

    assert link_clicks(campaign_id=campaign.pk) == [
        LinkClicks(link="https://a.test", clickers=1, clicks=1)
    ]


def test_clicks_by_link_are_one_query(django_assert_num_queries):
    campaign = make_campaign(status="completed")
    for number in range(5):
        _sms(campaign, "sms_click", number, make_recipient(), link=f"https://{number}.test")

    with django_assert_num_queries(1):
        assert len(link_clicks(campaign_id=campaign.pk)) == 5
