"""The emulator's own side: control endpoints, the Python API, injected failures and latency."""

import time

import pytest

from emulator import Emulator
from tests.emulator.conftest import CREDENTIALS, provider_stats

LC_PATH = f"/api/v1/{CREDENTIALS.leadconverter_token}/broadcasting.sendMessageBatch"


def batch(emulator, http, *subscribers):
    items = [{"subscriber_id": s, "text": "Hi"} for s in subscribers]
    return http.post(f"{emulator.url}{LC_PATH}", json={"batch": items})


def test_stats_over_http_count_requests_messages_and_duplicates(emulator, http):
    batch(emulator, http, 1, 2, 3)
    batch(emulator, http, 3, 4)
    http.post(f"{emulator.url}/api/v1/wrong/broadcasting.sendMessageBatch", json={})
    stats = http.get(f"{emulator.url}/_emulator/stats").json()
    leadconverter = stats["providers"]["leadconverter"]
    assert leadconverter["requests"] == 3
    assert leadconverter["accepted_calls"] == 2
    assert (leadconverter["messages"], leadconverter["distinct"]) == (5, 4)
    assert leadconverter["duplicates"] == 1
    assert leadconverter["refusals"] == {"unauthorized": 1}
    assert sum(leadconverter["requests_per_window"]) == 3
    assert stats["providers"]["imshop"]["requests"] == 0


def test_messages_over_http_list_what_was_accepted(emulator, http):
    batch(emulator, http, 7)
    listed = http.get(f"{emulator.url}/_emulator/messages", params={"provider": "leadconverter"})
    [only] = listed.json()
    assert (only["provider"], only["address"]) == ("leadconverter", "7")
    unknown = http.get(f"{emulator.url}/_emulator/messages", params={"provider": "x"})
    assert unknown.status_code == 400


def test_reset_forgets_the_record_and_refills_the_limits(make_emulator, http):
    emulator = make_emulator()
    auth = {"Authorization": f"Bearer {CREDENTIALS.imshop_api_key}"}
    body = {"userIds": ["1"], "message": {"title": "t", "summary": "s"}}
    for _ in range(10):
        http.post(f"{emulator.url}/imshop/push", json=body, headers=auth)
    assert http.post(f"{emulator.url}/imshop/push", json=body, headers=auth).status_code == 429
    assert http.post(f"{emulator.url}/_emulator/reset").json() == {"reset": True}
    assert provider_stats(emulator, "imshop")["requests"] == 0
    assert http.post(f"{emulator.url}/imshop/push", json=body, headers=auth).ok


def test_a_bitrix24_token_pair_can_be_had_over_http(emulator, http):
    tokens = http.post(f"{emulator.url}/_emulator/bitrix24/tokens").json()
    answer = http.post(
        f"{emulator.url}/rest/pull.application.push.add.json",
        json={"USER_ID": [1], "TEXT": "Hi", "auth": tokens["access_token"]},
    )
    assert answer.json()["result"] is True


def test_unknown_paths_are_404_and_not_counted(emulator, http):
    assert http.get(f"{emulator.url}/nowhere").status_code == 404
    assert http.get(f"{emulator.url}/_emulator/nothing").status_code == 404
    assert all(p["requests"] == 0 for p in emulator.stats()["providers"].values())


def test_the_fail_rate_is_a_fraction_and_the_seed_repeats_it(make_emulator, http):
    outcomes = []
    for _ in range(2):
        emulator = make_emulator(fail_rate=0.3, seed=42)
        outcomes.append([batch(emulator, http, 1).status_code for _ in range(100)])
    assert outcomes[0] == outcomes[1]
    failed = outcomes[0].count(500)
    assert 10 < failed < 50
    assert provider_stats(emulator, "leadconverter")["refusals"] == {"injected_failure": failed}


def test_latency_delays_every_answer(make_emulator, http):
    emulator = make_emulator(latency_ms=150)
    started = time.monotonic()
    batch(emulator, http, 1)
    assert time.monotonic() - started >= 0.15


def test_the_settings_point_at_this_emulator(emulator):
    settings = emulator.settings()
    assert settings["IMSHOP_PUSH_URL"] == f"{emulator.url}/imshop/push"
    assert settings["LEADCONVERTER_API_URL"] == f"{emulator.url}/api/v1"
    assert settings["BITRIX24_OAUTH_URL"] == emulator.url
    assert settings["YANDEX_MARKET_BUSINESS_ID"] == "777"


def test_without_credentials_fresh_random_ones_are_made():
    first, second = Emulator(), Emulator()
    try:
        assert first.credentials != second.credentials
        assert first.credentials.yandex_market_business_id.isdigit()
        assert repr(first.credentials) == "Credentials(...)"
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"time_scale": 0}, "time_scale must be positive"),
        ({"fail_rate": 1.5}, "fail_rate must be between 0 and 1"),
        ({"latency_ms": -1}, "latency_ms must not be negative"),
        ({"webhook_url": "http://127.0.0.1:1/"}, "needs the webhook secret"),
    ],
)
def test_impossible_options_are_refused(options, complaint):
    with pytest.raises(ValueError, match=complaint):
        Emulator(**options)
