"""Answers that would fail every delivery of a campaign pause it instead.

An answer meaning "no such endpoint or method" is a configuration error: the campaign pauses at
the first one and nobody is marked failed. For everything else, the circuit breaker opens after
`VESTNIK_BREAKER_THRESHOLD` requests in a row that failed as a whole with the same permanent
error: a refusal that never changes is about the campaign or the setup, not the recipients.
"""

import re

import pytest
import responses

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, Delivery
from notifications.providers.registry import build_provider
from notifications.reasons import reason_text
from notifications.sending.loop import campaign_send
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

LEADCONVERTER_API = "https://leadconverter.test/api/v1"
LEADCONVERTER_SEND = f"{LEADCONVERTER_API}/lc-token/broadcasting.sendMessageBatch"


@pytest.fixture(autouse=True)
def leadconverter(settings):
    settings.LEADCONVERTER_API_URL = LEADCONVERTER_API
    settings.LEADCONVERTER_TOKEN = "lc-token"
    settings.LEADCONVERTER_RATE = "1000/s"
    settings.LEADCONVERTER_BURST = 1000
    settings.LEADCONVERTER_BATCH_SIZE = 1
    settings.VESTNIK_BREAKER_THRESHOLD = 3


def dispatched(count: int) -> Campaign:
    people = [make_recipient(addresses={"leadconverter": str(1000 + i)}) for i in range(count)]
    campaign = make_campaign(
        make_audience(*people), channel="leadconverter", template=make_template(body="Hi")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    return campaign


def send(campaign: Campaign):
    return campaign_send(
        campaign_id=campaign.pk, provider=build_provider("leadconverter"), budget_seconds=30
    )


def statuses(campaign: Campaign) -> dict[str, int]:
    found: dict[str, int] = {}
    for status in Delivery.objects.filter(campaign=campaign).values_list("status", flat=True):
        found[status] = found.get(status, 0) + 1
    return found


def test_no_such_method_pauses_at_the_first_request_and_fails_nobody():
    campaign = dispatched(5)

    with responses.RequestsMock() as mock:
        mock.post(LEADCONVERTER_SEND, status=404, json={"error": "Method not found"})
        send(campaign)

    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "check LEADCONVERTER_API_URL" in reason_text(campaign.pause_reason)
    assert statuses(campaign) == {"pending": 5}
    assert set(Delivery.objects.filter(campaign=campaign).values_list("attempts", flat=True)) == {0}


def test_the_same_permanent_error_request_after_request_opens_the_breaker():
    campaign = dispatched(5)

    with responses.RequestsMock() as mock:
        mock.post(LEADCONVERTER_SEND, status=422, json={"error": "bot_blocked"})
        report = send(campaign)

    campaign.refresh_from_db()
    assert report.requests == 3
    assert campaign.status == "paused"
    reason = reason_text(campaign.pause_reason)
    assert reason.startswith("LeadConverter failed 3 requests in a row; last:")
    assert "bot_blocked" in reason
    assert statuses(campaign) == {"failed": 3, "pending": 2}


def test_permanent_errors_that_differ_from_request_to_request_keep_the_campaign_going():
    campaign = dispatched(5)
    answers = iter(range(5))

    def refuse(request):
        return 422, {}, f'{{"error": "subscriber {next(answers)} unsubscribed"}}'

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, LEADCONVERTER_SEND, callback=refuse)
        report = send(campaign)

    campaign.refresh_from_db()
    assert report.requests == 5
    assert campaign.status == "running"
    assert statuses(campaign) == {"failed": 5}


def test_a_different_permanent_error_starts_the_count_again():
    campaign = dispatched(5)
    errors = iter(["quota", "bot_blocked", "bot_blocked", "bot_blocked", "bot_blocked"])

    def refuse(request):
        return 422, {}, f'{{"error": "{next(errors)}"}}'

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, LEADCONVERTER_SEND, callback=refuse)
        report = send(campaign)

    campaign.refresh_from_db()
    assert report.requests == 4
    assert campaign.status == "paused"


def test_recipients_own_refusals_in_a_row_never_open_the_breaker(settings):
    # Yandex Market sends one chat per request and answers 404 for a chat that is gone: five
    # such chats in a row are five recipients' failures, not a broken campaign.
    settings.YANDEX_MARKET_API_URL = "https://market.test"
    settings.YANDEX_MARKET_API_KEY = "ym-key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    settings.YANDEX_MARKET_RATE = "1000/s"
    settings.YANDEX_MARKET_BURST = 1000
    people = [make_recipient(addresses={"yandex_market": str(500 + i)}) for i in range(5)]
    campaign = make_campaign(
        make_audience(*people), channel="yandex_market", template=make_template(body="Hi")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    gone = {"status": "ERROR", "errors": [{"code": "NOT_FOUND", "message": "Chat not found"}]}

    with responses.RequestsMock() as mock:
        mock.post(
            re.compile(r"https://market\.test/v2/businesses/42/chats/message.*"),
            status=404,
            json=gone,
        )
        report = campaign_send(
            campaign_id=campaign.pk, provider=build_provider("yandex_market"), budget_seconds=30
        )

    campaign.refresh_from_db()
    assert report.requests == 5
    assert campaign.status != "paused", campaign.pause_reason
    assert statuses(campaign) == {"failed": 5}
