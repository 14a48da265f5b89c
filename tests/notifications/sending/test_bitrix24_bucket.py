"""The send loop takes one limiter permit for every request to the Bitrix24 portal.

The portal's leaky bucket counts every incoming request: the one refused with `expired_token`
and its repeat after the refresh are two. Counting them as one let three QUERY_LIMIT_EXCEEDED
answers through.
"""

import json
import time

import pytest
import responses
from django.conf import settings

from notifications.campaigns.lifecycle import campaign_cancel, campaign_dispatch, campaign_pause
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Bitrix24Token, Delivery
from notifications.providers.registry import build_provider
from notifications.sending.counters import counters_read, counters_rebuild
from notifications.sending.limiter import DatabaseBackend, Limiter, RedisBackend
from notifications.sending.loop import campaign_send
from notifications.sending.permits import REPEAT_NO_PERMIT, REPEAT_STOPPED
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

PORTAL = "portal.bitrix24.test"
PUSH_URL = f"https://{PORTAL}/rest/pull.application.push.add.json"
TOKEN_URL = "https://oauth.bitrix.test/oauth/token/"
EXPIRED = {"error": "expired_token", "error_description": "The access token provided has expired."}
REFRESHED = {
    "access_token": "b24-access-new",
    "refresh_token": "b24-refresh-new",
    "expires_in": 3600,
}


@pytest.fixture(params=["database", "redis"])
def limiter(request):
    if request.param == "database":
        return Limiter(DatabaseBackend())
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/6 to run it")
    return Limiter(RedisBackend(settings.REDIS_URL))


@pytest.fixture
def campaign(settings):
    settings.BITRIX24_PORTAL_URL = f"https://{PORTAL}"
    settings.BITRIX24_CLIENT_ID = "local.app.42"
    settings.BITRIX24_CLIENT_SECRET = "b24-client-secret"
    settings.BITRIX24_OAUTH_URL = "https://oauth.bitrix.test"
    settings.BITRIX24_BURST = 1
    settings.PROVIDER_READ_TIMEOUT = 2
    Bitrix24Token.objects.create(
        portal=PORTAL, access_token="b24-access-old", refresh_token="b24-refresh-old"
    )
    recipient = make_recipient(addresses={"bitrix24": "7"})
    campaign = make_campaign(
        make_audience(recipient), channel="bitrix24", template=make_template(body="Hi")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    return campaign


def send(campaign, limiter, budget: float):
    return campaign_send(
        campaign_id=campaign.pk,
        provider=build_provider("bitrix24"),
        budget_seconds=budget,
        limiter=limiter,
    )


def test_the_repeat_after_a_token_refresh_waits_its_turn_in_the_bucket(campaign, limiter, settings):
    settings.BITRIX24_RATE = "2/s"
    portal_requests: list[float] = []

    def push(request):
        portal_requests.append(time.monotonic())
        if len(portal_requests) == 1:
            return 401, {}, '{"error": "expired_token"}'
        return 200, {}, '{"result": true}'

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, PUSH_URL, callback=push)
        mock.get(TOKEN_URL, json=REFRESHED)
        send(campaign, limiter, budget=10)

    assert len(portal_requests) == 2
    assert portal_requests[1] - portal_requests[0] >= 0.45
    assert Delivery.objects.get(campaign=campaign).status == "sent"


def test_without_room_for_the_repeat_the_delivery_waits_without_using_an_attempt(
    campaign, limiter, settings
):
    settings.BITRIX24_RATE = "1/m"

    with responses.RequestsMock() as mock:
        mock.post(PUSH_URL, status=401, json=EXPIRED)
        mock.get(TOKEN_URL, json=REFRESHED)
        report = send(campaign, limiter, budget=8)

    delivery = Delivery.objects.get(campaign=campaign)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert (report.stopped_because, report.more_work) == (REPEAT_NO_PERMIT, True)
    assert Bitrix24Token.objects.get().access_token == "b24-access-new"


def test_the_repeat_honours_a_hold_another_worker_recorded_meanwhile(campaign, limiter, settings):
    settings.BITRIX24_RATE = "50/s"
    portal_requests: list[float] = []
    hold_until: list[float] = []

    def push(request):
        portal_requests.append(time.time())
        if len(portal_requests) == 1:
            # Another worker is answered QUERY_LIMIT_EXCEEDED while this call is refused.
            hold_until.append(time.time() + 1.5)
            limiter.hold(f"bitrix24:{PORTAL}", until=hold_until[0], reason="QUERY_LIMIT_EXCEEDED")
            return 401, {}, '{"error": "expired_token"}'
        return 200, {}, '{"result": true}'

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, PUSH_URL, callback=push)
        mock.get(TOKEN_URL, json=REFRESHED)
        send(campaign, limiter, budget=10)

    assert len(portal_requests) == 2
    assert portal_requests[1] >= hold_until[0] - 0.05


def test_a_pause_while_the_token_is_refreshed_stops_the_repeat(campaign, limiter, settings):
    settings.BITRIX24_RATE = "50/s"
    portal_requests: list[float] = []

    def refresh(request):
        # Staff pause the campaign while the first call is refused and the token refreshed.
        campaign_pause(campaign_id=campaign.pk, reason="", user=None)
        return 200, {}, json.dumps(REFRESHED)

    def push(request):
        portal_requests.append(time.monotonic())
        return 401, {}, '{"error": "expired_token"}'

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, PUSH_URL, callback=push)
        mock.add_callback(responses.GET, TOKEN_URL, callback=refresh)
        report = send(campaign, limiter, budget=10)

    delivery = Delivery.objects.get(campaign=campaign)
    assert len(portal_requests) == 1, "the repeat went out after the pause"
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert report.stopped_because == REPEAT_STOPPED


def test_a_cancel_while_the_token_is_refreshed_cancels_the_refused_delivery(
    campaign, limiter, settings
):
    settings.BITRIX24_RATE = "50/s"

    def refresh(request):
        campaign_cancel(campaign_id=campaign.pk, user=None)
        return 200, {}, json.dumps(REFRESHED)

    with responses.RequestsMock() as mock:
        mock.post(PUSH_URL, status=401, json=EXPIRED)
        mock.add_callback(responses.GET, TOKEN_URL, callback=refresh)
        send(campaign, limiter, budget=10)

    delivery = Delivery.objects.get(campaign=campaign)
    # Not pending in a cancelled campaign, where nothing would ever claim it again.
    assert (delivery.status, delivery.attempts) == ("cancelled", 0)
    assert counters_read(campaign_id=campaign.pk) == counters_rebuild(campaign_id=campaign.pk)
