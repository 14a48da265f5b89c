"""A quota answer holds every sender of the account before its next request.

Yandex Market counts its hourly quota per business: once one sender is answered
`X-RateLimit-Resource-Remaining: 0`, a request from any other sender before
`X-RateLimit-Resource-Until` is refused with 420 and still uses up the quota. A sender that
reserved its start, or took its parallel slot, before the hold was recorded must see it too.
"""

import threading
import time
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.conf import settings
from django.db import connection

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Delivery
from notifications.providers.limits import Limits
from notifications.providers.registry import build_provider
from notifications.sending.limiter import DatabaseBackend, Limiter, RedisBackend
from notifications.sending.loop import campaign_send
from tests.factories import make_audience, make_campaign, make_recipient, make_template

YANDEX_URL = "https://yandex.test/v2/businesses/42/chats/message"
KEY = "yandex_market:42"
HOLD_SECONDS = 4


def limiter_on(store: str) -> Limiter:
    if store == "database":
        return Limiter(DatabaseBackend())
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/6 to run it")
    return Limiter(RedisBackend(settings.REDIS_URL))


@pytest.mark.parametrize("store", ["database", "redis"])
@pytest.mark.django_db
def test_the_hold_left_is_read_by_the_shared_clock(store):
    limiter = limiter_on(store)

    assert limiter.held_for("test:held") == 0
    limiter.hold("test:held", until=time.time() + 30, reason="420")

    assert limiter.held_for("test:held") == pytest.approx(30, abs=1)


@pytest.mark.django_db
def test_a_switched_off_limiter_never_holds():
    limiter = Limiter(DatabaseBackend(), enabled=False)
    Limiter(DatabaseBackend()).hold("test:off", until=time.time() + 30, reason="420")

    assert limiter.held_for("test:off") == 0


class Reserved(Limiter):
    """The real limiter, telling the test when this sender has reserved its start."""

    def __init__(self, backend) -> None:
        super().__init__(backend)
        self.reserved = threading.Event()

    def acquire(self, key: str, limits: Limits, *, max_wait: float) -> float | None:
        wait = super().acquire(key, limits, max_wait=max_wait)
        self.reserved.set()
        return wait


def one_chat_campaign(chat: str):
    recipient = make_recipient(addresses={"yandex_market": chat})
    campaign = make_campaign(
        make_audience(recipient), channel="yandex_market", template=make_template(body="Hi")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    return campaign


# How the second sender gets past the limiter before the first one's quota answer: its start
# reserved a second ahead (requests a second apart), or its wait for the only parallel slot,
# which the first sender holds while its request is in flight.
ALREADY_PAST = {
    "permit": {"YANDEX_MARKET_RATE": "1/s"},
    "slot": {"YANDEX_MARKET_RATE": "100/s", "YANDEX_MARKET_BURST": 4, "YANDEX_MARKET_PARALLEL": 1},
}


@pytest.mark.parametrize("past", ["permit", "slot"])
@pytest.mark.parametrize("store", ["database", "redis"])
@pytest.mark.django_db(transaction=True)
def test_a_sender_already_past_the_limiter_waits_for_a_quota_answer_until_the_reset(
    store, past, settings, postgres_only
):
    settings.YANDEX_MARKET_API_URL = "https://yandex.test"
    settings.YANDEX_MARKET_API_KEY = "ym-key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    for name, value in ALREADY_PAST[past].items():
        setattr(settings, name, value)
    settings.PROVIDER_READ_TIMEOUT = 2
    backend = limiter_on(store).backend
    first, second = Limiter(backend), Reserved(backend)
    exhausted, other = one_chat_campaign("111"), one_chat_campaign("222")
    quota_reset = int(time.time()) + HOLD_SECONDS
    requests: dict[str, float] = {}

    def answer(request):
        chat = parse_qs(urlsplit(request.url).query)["chatId"][0]
        requests[chat] = time.time()
        if chat == "111":
            assert second.reserved.wait(5), "the second sender never reserved its start"
            time.sleep(0.2)  # the second sender is now sleeping or polling for the slot
            headers = {
                "X-RateLimit-Resource-Limit": "1000",
                "X-RateLimit-Resource-Remaining": "0",
                "X-RateLimit-Resource-Until": formatdate(quota_reset, usegmt=True),
            }
            body = '{"status": "ERROR", "errors": [{"code": "LIMIT_EXCEEDED"}]}'
            return 420, headers, body
        return 200, {"X-RateLimit-Resource-Remaining": "999"}, '{"status": "OK"}'

    def send(campaign, limiter) -> None:
        try:
            campaign_send(
                campaign_id=campaign.pk,
                provider=build_provider("yandex_market"),
                budget_seconds=15,
                limiter=limiter,
            )
        finally:
            connection.close()

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, YANDEX_URL, callback=answer)
        sender = threading.Thread(target=send, args=(exhausted, first))
        sender.start()
        while not requests and sender.is_alive():
            time.sleep(0.01)
        send(other, second)
        sender.join()

    assert requests["222"] >= quota_reset - 0.05
    held = Delivery.objects.get(campaign=exhausted)
    sent = Delivery.objects.get(campaign=other)
    assert (held.status, held.attempts) == ("pending", 0)
    assert (sent.status, sent.attempts) == ("sent", 1)
