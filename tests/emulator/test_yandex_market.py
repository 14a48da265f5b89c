"""The Yandex Market emulator: Api-Key, the hourly quota with its headers, four parallel calls."""

import threading
from datetime import UTC, datetime

import pytest
import requests

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from notifications.reasons import reason_text
from tests.emulator.conftest import CREDENTIALS, message, provider_stats

AUTH = {"Api-Key": CREDENTIALS.yandex_market_api_key}


def url(emulator, business=CREDENTIALS.yandex_market_business_id):
    return f"{emulator.url}/v2/businesses/{business}/chats/message"


def send(emulator, http, chat="42", text="Hello", headers=AUTH, **options):
    return http.post(
        url(emulator, **options), params={"chatId": chat}, json={"message": text}, headers=headers
    )


def test_our_clients_message_is_accepted_and_the_quota_is_reported(emulator, pointed):
    pointed(emulator)
    outcome = get_provider("yandex_market").send([message(1, "42", body="Your order")])
    assert outcome.results[0].status == ResultStatus.SENT
    assert (outcome.quota.limit, outcome.quota.remaining) == (1000, 999)
    assert outcome.quota.resets_at > datetime.now(UTC)
    assert [m.address for m in emulator.messages("yandex_market")] == ["42"]


def test_a_request_without_a_key_gets_401(emulator, http):
    answer = send(emulator, http, headers={})
    assert answer.status_code == 401
    assert answer.json()["status"] == "ERROR"


@pytest.mark.parametrize(("headers", "business"), [({"Api-Key": "wrong"}, "777"), (AUTH, "778")])
def test_a_wrong_key_or_another_business_gets_403(emulator, http, headers, business):
    answer = send(emulator, http, headers=headers, business=business)
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "FORBIDDEN"


def test_our_client_asks_for_a_person_when_the_key_is_refused(emulator, pointed, settings):
    pointed(emulator)
    settings.YANDEX_MARKET_API_KEY = "wrong"
    with pytest.raises(ProviderConfigurationError) as refused:
        get_provider("yandex_market").send([message(1, "42", body="Hi")])
    # Stored as a reason (a worker has no reader); it reads as a sentence naming the setting.
    assert "YANDEX_MARKET_API_KEY" in reason_text(str(refused.value))


@pytest.mark.parametrize(
    ("chat", "text", "problem"),
    [
        ("abc", "Hi", "chatId"),
        ("0", "Hi", "chatId"),
        ("42", "", "length must be between 1 and 4096"),
        ("42", "x" * 4097, "length must be between 1 and 4096"),
    ],
)
def test_a_bad_request_gets_400_and_still_uses_the_quota(emulator, http, chat, text, problem):
    answer = send(emulator, http, chat=chat, text=text)
    assert answer.status_code == 400
    assert problem in answer.json()["errors"][0]["message"]
    assert answer.headers["X-RateLimit-Resource-Remaining"] == "999"


def test_4096_characters_are_accepted(emulator, http):
    assert send(emulator, http, text="я" * 4096).json() == {"status": "OK"}


def test_the_deprecated_path_is_not_served(emulator, http):
    answer = http.post(
        f"{emulator.url}/businesses/777/chats/message", params={"chatId": 1}, headers=AUTH
    )
    assert answer.status_code == 404


def test_the_1001st_request_of_the_hour_gets_420_until_the_window_ends(emulator, http, pointed):
    windows: dict[str, int] = {}
    refused = None
    for _ in range(2001):
        answer = send(emulator, http)
        if answer.status_code == 420:
            refused = answer
            break
        windows[answer.headers["X-RateLimit-Resource-Until"]] = (
            windows.get(answer.headers["X-RateLimit-Resource-Until"], 0) + 1
        )
    assert refused is not None
    until = refused.headers["X-RateLimit-Resource-Until"]
    # Counted by window, so a test that straddles the hour cannot fail for it.
    assert windows[until] == 1000
    assert refused.headers["X-RateLimit-Resource-Remaining"] == "0"
    assert refused.json()["errors"][0]["code"] == "LIMIT_EXCEEDED"
    pointed(emulator)
    outcome = get_provider("yandex_market").send([message(1, "42", body="Hi")])
    assert outcome.results[0].status == ResultStatus.RETRY
    assert outcome.hold_until is not None
    assert outcome.hold_until.timestamp() >= datetime.now(UTC).timestamp()


def test_a_window_that_ends_restores_the_quota(make_emulator, http):
    emulator = make_emulator(time_scale=36000)  # an hour lasts 0.1 s
    for _ in range(5):
        assert send(emulator, http).ok
    stats = provider_stats(emulator, "yandex_market")
    assert stats["window_seconds"] == pytest.approx(0.1)
    assert sum(stats["requests_per_window"]) == 5


def test_a_fifth_parallel_request_gets_420(make_emulator):
    emulator = make_emulator(latency_ms=300)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        with requests.Session() as http:
            barrier.wait()
            statuses.append(send(emulator, http).status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 200, 420, 420]
    stats = provider_stats(emulator, "yandex_market")
    assert stats["max_parallel"] == 6
    assert stats["refusals"] == {"parallel_limit": 2}
