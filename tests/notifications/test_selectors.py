"""Shared reads: progress from the counters, and the send ETA within the provider's limits."""

import pytest

from notifications.counters import counters_add
from notifications.selectors import campaign_progress, send_eta_seconds
from tests.factories import make_campaign


@pytest.fixture(autouse=True)
def imshop(settings):
    settings.IMSHOP_PUSH_URL = "https://imshop.test/push"
    settings.IMSHOP_API_KEY = "key"


def test_identical_imshop_pushes_share_requests_so_1000_go_at_once():
    content = {"title": "Sale", "body": "Today"}
    assert send_eta_seconds(channel="imshop", content=content, messages=1000) == 0.0
    # 1001 need two requests: the second waits a minute (10 requests a minute).
    assert send_eta_seconds(channel="imshop", content=content, messages=1001) == 6.0


def test_personalised_imshop_pushes_need_a_request_each():
    content = {"title": "Hi {{ first_name }}", "body": "Today"}
    # 60 requests at 10 a minute, the first at once: 59 * 6 s.
    assert send_eta_seconds(channel="imshop", content=content, messages=60) == 354.0


def test_yandex_market_takes_an_hour_per_thousand_chats(settings):
    settings.YANDEX_MARKET_API_KEY = "key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    eta = send_eta_seconds(channel="yandex_market", content={"body": "Hi"}, messages=2001)
    assert eta == pytest.approx(2000 * 3.6)


def test_an_unconfigured_provider_has_no_eta():
    assert send_eta_seconds(channel="leadconverter", content={"body": "x"}, messages=5) is None


@pytest.mark.django_db
def test_progress_reads_the_counters():
    campaign = make_campaign()
    counters_add(campaign_id=campaign.pk, deltas={"sent": 7, "pending": 3, "failed": 1})
    progress = campaign_progress(campaign_id=campaign.pk)
    assert (progress["total"], progress["done"], progress["sent"]) == (11, 8, 7)
