"""The Imshop emulator: what our client sends is accepted; what Imshop refuses is refused."""

import time

import pytest

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from notifications.reasons import reason_text
from tests.emulator.conftest import CREDENTIALS, message, provider_stats

AUTH = {"Authorization": f"Bearer {CREDENTIALS.imshop_api_key}"}
PUSH = {"message": {"title": "Sale", "summary": "Today only"}}


def push(emulator, http, body, headers=AUTH):
    return http.post(f"{emulator.url}/imshop/push", json=body, headers=headers)


def test_our_clients_push_is_accepted_and_every_user_is_recorded(emulator, pointed):
    pointed(emulator)
    group = [
        message(index, f"user-{index}", title="Sale", body="Today only", deeplink="app://sale")
        for index in range(3)
    ]
    outcome = get_provider("imshop").send(group)
    assert [result.status for result in outcome.results] == [ResultStatus.SENT] * 3
    recorded = emulator.messages("imshop")
    assert [m.address for m in recorded] == ["user-0", "user-1", "user-2"]
    assert len({m.text_hash for m in recorded}) == 1


def test_a_wrong_key_is_refused_and_our_client_asks_for_a_person(emulator, pointed, settings):
    pointed(emulator)
    settings.IMSHOP_API_KEY = "not-the-key"
    with pytest.raises(ProviderConfigurationError) as refused:
        get_provider("imshop").send([message(1, "u1", title="t", body="b")])
    # Stored as a reason (a worker has no reader); it reads as a sentence naming the setting.
    assert "IMSHOP_API_KEY" in reason_text(str(refused.value))
    stats = provider_stats(emulator, "imshop")
    assert stats["refusals"] == {"unauthorized": 1}
    assert stats["messages"] == 0


def test_a_request_without_a_key_gets_401(emulator, http):
    answer = push(emulator, http, {"userIds": ["1"], **PUSH}, headers={})
    assert answer.status_code == 401
    assert answer.json()["error"] == "Unauthorized"


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (PUSH, 'child "userIds" fails because ["userIds" is required]'),
        (
            {"userIds": "79999999999", **PUSH},
            'child "userIds" fails because ["userIds" must be an array]',
        ),
        (
            {"userIds": [79999999999], **PUSH},
            'child "userIds" fails because ["userIds" at position 0 fails because '
            '["0" must be a string]]',
        ),
        ({"userIds": ["1"]}, 'child "message" fails because ["message" is required]'),
        (
            {"userIds": ["1"], "message": {"title": "t"}},
            'child "message" fails because [child "summary" fails because ["summary" is required]]',
        ),
        (
            {"userIds": ["1"], "message": {"title": "", "summary": "s"}},
            'child "message" fails because [child "title" fails because '
            '["title" is not allowed to be empty]]',
        ),
        (
            {"userIds": ["1"], **PUSH, "deeplink": 5},
            'child "deeplink" fails because ["deeplink" must be a string]',
        ),
        ({"userIds": ["1"], **PUSH, "badge": 1}, '"badge" is not allowed'),
    ],
)
def test_a_bad_body_gets_400_with_the_validators_sentence(emulator, http, body, sentence):
    answer = push(emulator, http, body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "Bad Request", "message": sentence}
    assert provider_stats(emulator, "imshop")["refusals"] == {"bad_request": 1}


def test_more_than_1000_user_ids_are_refused(emulator, http):
    answer = push(emulator, http, {"userIds": [str(n) for n in range(1001)], **PUSH})
    assert answer.status_code == 400
    assert "must contain less than or equal to 1000 items" in answer.json()["message"]
    assert provider_stats(emulator, "imshop")["refusals"] == {"too_many_items": 1}
    assert push(emulator, http, {"userIds": [str(n) for n in range(1000)], **PUSH}).ok


def test_the_eleventh_request_of_a_minute_is_refused_until_the_window_moves(make_emulator, http):
    # A minute lasts 1 s: eleven requests fit in it even on a busy machine (at 0.1 s they did not,
    # and the eleventh found the window moved on).
    emulator = make_emulator(time_scale=60)
    body = {"userIds": ["1"], **PUSH}
    assert all(push(emulator, http, body).json() == {"success": True} for _ in range(10))
    refused = push(emulator, http, body)
    assert refused.status_code == 429
    assert refused.json()["error"] == "Too Many Requests"
    assert int(refused.headers["Retry-After"]) >= 1
    time.sleep(1.0)
    assert push(emulator, http, body).ok
    stats = provider_stats(emulator, "imshop")
    assert stats["refusals"] == {"rate_limited": 1}
    assert stats["over_limit"] == 1
    assert stats["messages"] == 11


def test_our_client_holds_imshop_when_the_limit_answers(make_emulator, pointed):
    emulator = make_emulator(time_scale=60)
    pointed(emulator)
    provider = get_provider("imshop")
    for index in range(10):
        provider.send([message(index, "u1", title="t", body="b")])
    outcome = provider.send([message(99, "u1", title="t", body="b")])
    assert outcome.results[0].status == ResultStatus.RETRY
    assert outcome.hold_until is not None


def test_the_injected_failure_is_imshops_documented_transient_error(make_emulator, pointed):
    emulator = make_emulator(fail_rate=1.0)
    pointed(emulator)
    result = get_provider("imshop").send([message(1, "u1", title="t", body="b")]).results[0]
    assert result.status == ResultStatus.RETRY
    assert result.code == "Integration is unavailable"
    assert provider_stats(emulator, "imshop")["refusals"] == {"injected_failure": 1}


def test_without_limits_every_request_passes_and_crossings_are_counted(make_emulator, http):
    emulator = make_emulator(limits=False)
    for _ in range(15):
        assert push(emulator, http, {"userIds": ["1"], **PUSH}).ok
    stats = provider_stats(emulator, "imshop")
    assert stats["over_limit"] == 5
    assert stats["refusals"] == {}
