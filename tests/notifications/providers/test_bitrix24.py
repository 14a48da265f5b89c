"""Bitrix24 app pushes: calls and batches, per-call errors, and OAuth token refresh."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from notifications.providers.bitrix24.oauth import (
    authorize_url,
    exchange_code,
    exchange_refresh_token,
)
from notifications.providers.bitrix24.tokens import MemoryTokenStore, Tokens
from notifications.providers.exceptions import ProviderConfigurationError, ProviderError
from notifications.providers.http import USER_AGENT
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from notifications.reasons import reason_encode, reason_text
from tests.notifications.providers.conftest import (
    BITRIX_ACCESS,
    BITRIX_BATCH_URL,
    BITRIX_CLIENT_ID,
    BITRIX_NEW_ACCESS,
    BITRIX_NEW_REFRESH,
    BITRIX_PUSH_URL,
    BITRIX_REFRESH,
    BITRIX_SECRET,
    BITRIX_TOKEN_URL,
    MAYBE_SENT,
    NEVER_SENT,
    fixture,
    message,
    raises_saying,
    read_in,
    sent_json,
    stored_reads,
    transport_error,
)

AVATAR = "https://files.example.test/avatar.png"
SAME_TEXT = [
    message(1, "1", body="Hello, world!", avatar_url=AVATAR),
    message(2, "2", body="Hello, world!", avatar_url=AVATAR),
    message(3, "3", body="Hello, world!", avatar_url=AVATAR),
]
EXPIRED = {"error": "expired_token", "error_description": "The access token provided has expired."}
REFRESHED = {
    **fixture("bitrix24_token.json"),
    "access_token": BITRIX_NEW_ACCESS,
    "refresh_token": BITRIX_NEW_REFRESH,
}


def query(call) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.request.url).query))


def test_one_text_for_every_user_is_one_push_call_with_the_token_in_the_body(bitrix, http):
    http.post(BITRIX_PUSH_URL, json=fixture("bitrix24_push_success.json"))

    bitrix.send(SAME_TEXT)

    request = http.calls[0].request
    assert request.method == "POST"
    assert request.url == BITRIX_PUSH_URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert sent_json(http.calls[0]) == {
        "USER_ID": [1, 2, 3],
        "TEXT": "Hello, world!",
        "AVATAR": AVATAR,
        "auth": BITRIX_ACCESS,
    }


def test_the_avatar_is_left_out_when_the_push_has_none(bitrix, http):
    http.post(BITRIX_PUSH_URL, json={"result": True})

    bitrix.send([message(1, "9", body="Hi")])

    assert sent_json(http.calls[0]) == {"USER_ID": [9], "TEXT": "Hi", "auth": BITRIX_ACCESS}


def test_result_true_marks_every_user_sent(bitrix, http):
    http.post(BITRIX_PUSH_URL, json={"result": True, "time": {"duration": 0.01}})

    outcome = bitrix.send(SAME_TEXT)

    assert [(r.delivery_id, r.status) for r in outcome.results] == [
        (1, ResultStatus.SENT),
        (2, ResultStatus.SENT),
        (3, ResultStatus.SENT),
    ]
    assert outcome.results[0].response == {
        "status_code": 200,
        "body": {"result": True, "time": {"duration": 0.01}},
    }


@pytest.mark.parametrize(
    ("code", "description"),
    [
        ("TEXT_ERROR", "Text is empty"),
        ("EMPTY_APP_NAME", "Application name is empty"),
        ("ACCESS_ERROR", "Only administrators may use this method"),
    ],
)
def test_a_misconfigured_app_or_user_fails_every_message(bitrix, http, code, description):
    http.post(BITRIX_PUSH_URL, status=400, json={"error": code, "error_description": description})

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.FAILED, code)}
    assert reason_text(outcome.results[0].message) == f"Bitrix24 answered {code}: {description}"


def test_wrong_auth_type_is_a_configuration_error_telling_what_to_do(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=403, json=fixture("bitrix24_wrong_auth_type.json"))

    with pytest.raises(ProviderConfigurationError) as raised:
        bitrix.send(SAME_TEXT)

    assert reason_text(str(raised.value)) == (
        "Bitrix24 answered WRONG_AUTH_TYPE: pushes can only be sent by an OAuth application, not "
        "a webhook: check BITRIX24_CLIENT_ID and BITRIX24_CLIENT_SECRET, then connect the app "
        "(Admin → Connect Bitrix24). Send push notifications available only for application "
        "authorization."
    )
    assert raised.value.status_code == 403


def test_no_auth_found_is_a_configuration_error_asking_to_connect_again(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=401, json={"error": "NO_AUTH_FOUND", "error_description": ""})

    with raises_saying("Admin → Connect Bitrix24"):
        bitrix.send(SAME_TEXT)


def test_an_unknown_error_with_401_is_a_configuration_error(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=401, json={"error": "SOMETHING_NEW"})

    with raises_saying("SOMETHING_NEW"):
        bitrix.send(SAME_TEXT)


def test_query_limit_exceeded_retries_and_holds_the_portal_for_a_second(bitrix, http):
    http.post(
        BITRIX_PUSH_URL,
        status=503,
        json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
    )
    before = datetime.now(UTC)

    outcome = bitrix.send(SAME_TEXT)

    after = datetime.now(UTC)
    assert {(r.status, r.code) for r in outcome.results} == {
        (ResultStatus.RETRY, "QUERY_LIMIT_EXCEEDED")
    }
    assert outcome.results[0].retry_at is None
    assert before + timedelta(seconds=1) <= outcome.hold_until <= after + timedelta(seconds=1)


def test_query_limit_exceeded_with_retry_after_holds_until_then(bitrix, http):
    http.post(
        BITRIX_PUSH_URL,
        status=503,
        headers={"Retry-After": "Wed, 21 Oct 2037 07:28:00 GMT"},
        json={"error": "QUERY_LIMIT_EXCEEDED"},
    )

    outcome = bitrix.send(SAME_TEXT)

    assert outcome.hold_until == datetime(2037, 10, 21, 7, 28, tzinfo=UTC)
    assert outcome.results[0].retry_at == datetime(2037, 10, 21, 7, 28, tzinfo=UTC)


def test_operation_time_limit_holds_until_the_portal_releases_the_method(bitrix, http):
    reset = datetime(2037, 1, 1, tzinfo=UTC)
    http.post(
        BITRIX_PUSH_URL,
        status=429,
        json={
            "error": "OPERATION_TIME_LIMIT",
            "error_description": "Method is blocked due to operation time limit.",
            "time": {"operating_reset_at": reset.timestamp(), "operating": 481.2},
        },
    )

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.retry_at) for r in outcome.results} == {(ResultStatus.RETRY, reset)}
    assert outcome.hold_until == reset


def test_operation_time_limit_without_a_reset_time_holds_for_the_assumed_minute(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=429, json={"error": "OPERATION_TIME_LIMIT"})
    before = datetime.now(UTC)

    outcome = bitrix.send(SAME_TEXT)

    after = datetime.now(UTC)
    assert before + timedelta(seconds=60) <= outcome.hold_until <= after + timedelta(seconds=60)
    assert outcome.results[0].status == ResultStatus.RETRY


def test_a_server_error_is_retried_without_hold(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=500, json={"error": "INTERNAL_SERVER_ERROR"})

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {
        (ResultStatus.RETRY, "INTERNAL_SERVER_ERROR")
    }
    assert outcome.hold_until is None


def test_an_html_error_page_is_retried(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=502, body="<html><body>502 Bad Gateway</body></html>")

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.RETRY, "http_502")}


def test_malformed_json_in_an_accepted_answer_is_unknown(bitrix, http):
    http.post(BITRIX_PUSH_URL, body='{"result": tr', content_type="application/json")

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {
        (ResultStatus.UNKNOWN, "unreadable_answer")
    }


def test_result_false_fails_every_message(bitrix, http):
    http.post(BITRIX_PUSH_URL, json={"result": False})

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.FAILED, "not_sent")}


@pytest.mark.parametrize(("kind", "code"), NEVER_SENT)
def test_a_request_that_never_left_is_retried(bitrix, http, kind, code):
    http.post(BITRIX_PUSH_URL, body=transport_error(kind, BITRIX_PUSH_URL))

    outcome = bitrix.send(SAME_TEXT)

    assert [(r.status, r.code) for r in outcome.results] == [(ResultStatus.RETRY, code)] * 3


@pytest.mark.parametrize(("kind", "code"), MAYBE_SENT)
def test_a_request_that_may_have_arrived_without_an_answer_is_unknown(bitrix, http, kind, code):
    http.post(BITRIX_PUSH_URL, body=transport_error(kind, BITRIX_PUSH_URL))

    outcome = bitrix.send(SAME_TEXT)

    assert [(r.status, r.code) for r in outcome.results] == [(ResultStatus.UNKNOWN, code)] * 3


# --- batch.json ---------------------------------------------------------------------------


MIXED = [
    message(1, "1", body="Hi Anna"),
    message(2, "2", body="Hi Boris", avatar_url=AVATAR),
    message(3, "3", body="Hi Anna"),
    message(4, "4", body="Hi Vera & co?"),
]


def test_different_texts_go_out_as_one_batch_with_one_call_per_text(bitrix, http):
    http.post(BITRIX_BATCH_URL, json={"result": {"result": {"push_0": True}}})

    bitrix.send(MIXED)

    assert http.calls[0].request.url == BITRIX_BATCH_URL
    assert sent_json(http.calls[0]) == {
        "halt": 0,
        "cmd": {
            "push_0": "pull.application.push.add?USER_ID[]=1&USER_ID[]=3&TEXT=Hi%20Anna",
            "push_1": "pull.application.push.add?USER_ID[]=2&TEXT=Hi%20Boris"
            "&AVATAR=https%3A%2F%2Ffiles.example.test%2Favatar.png",
            "push_2": "pull.application.push.add?USER_ID[]=4&TEXT=Hi%20Vera%20%26%20co%3F",
        },
        "auth": BITRIX_ACCESS,
    }


def test_each_batch_call_maps_its_own_result_or_error_to_its_messages(bitrix, http):
    http.post(
        BITRIX_BATCH_URL,
        json={
            "result": {
                "result": {"push_0": True},
                "result_error": {
                    "push_1": {"error": "ACCESS_ERROR", "error_description": "Admins only"}
                },
                "result_total": [],
                "result_next": [],
                "result_time": [],
            },
            "time": {"duration": 0.2},
        },
    )

    outcome = bitrix.send(MIXED)

    assert [(r.delivery_id, r.status, r.code) for r in outcome.results] == [
        (1, ResultStatus.SENT, ""),
        (2, ResultStatus.FAILED, "ACCESS_ERROR"),
        (3, ResultStatus.SENT, ""),
        (4, ResultStatus.UNKNOWN, "missing_call_result"),
    ]
    assert reason_text(outcome.results[1].message) == "Bitrix24 answered ACCESS_ERROR: Admins only"
    assert outcome.hold_until is None


def test_a_batch_call_blocked_by_the_time_limit_is_retried_and_holds_the_portal(bitrix, http):
    http.post(
        BITRIX_BATCH_URL,
        json={
            "result": {
                "result": {"push_0": True, "push_2": True},
                "result_error": {"push_1": {"error": "OPERATION_TIME_LIMIT"}},
            }
        },
    )
    before = datetime.now(UTC)

    outcome = bitrix.send(MIXED)

    after = datetime.now(UTC)
    assert [r.status for r in outcome.results] == [
        ResultStatus.SENT,
        ResultStatus.RETRY,
        ResultStatus.SENT,
        ResultStatus.SENT,
    ]
    assert before + timedelta(seconds=60) <= outcome.hold_until <= after + timedelta(seconds=60)


def test_a_batch_whose_calls_lack_the_pull_scope_is_a_configuration_error(bitrix, http):
    http.post(BITRIX_BATCH_URL, json=fixture("bitrix24_batch_halt0_errors.json"))

    with raises_saying("`pull` scope"):
        bitrix.send(MIXED[:2])


def test_a_batch_answer_without_results_is_unknown(bitrix, http):
    http.post(BITRIX_BATCH_URL, json={"time": {}})

    outcome = bitrix.send(MIXED)

    assert {r.status for r in outcome.results} == {ResultStatus.UNKNOWN}


def test_an_expired_token_on_a_batch_refreshes_and_repeats_the_batch(bitrix, http, token_store):
    http.post(BITRIX_BATCH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=REFRESHED)
    http.post(BITRIX_BATCH_URL, json={"result": {"result": {f"push_{n}": True for n in range(3)}}})

    outcome = bitrix.send(MIXED)

    assert {r.status for r in outcome.results} == {ResultStatus.SENT}
    assert sent_json(http.calls[2])["auth"] == BITRIX_NEW_ACCESS
    assert sent_json(http.calls[2])["cmd"] == sent_json(http.calls[0])["cmd"]


def test_the_plan_puts_identical_pushes_together_and_cuts_at_50(bitrix):
    messages = [message(n, str(n), body=f"text {n % 3}") for n in range(1, 121)]

    groups = bitrix.plan(messages)

    assert [len(group) for group in groups] == [50, 50, 20]
    flat = [m.content.body for group in groups for m in group]
    assert flat == ["text 1"] * 40 + ["text 2"] * 40 + ["text 0"] * 40


# --- Tokens ---------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_and_the_call_repeated_once(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=REFRESHED)
    http.post(BITRIX_PUSH_URL, json={"result": True})

    outcome = bitrix.send(SAME_TEXT)

    assert {r.status for r in outcome.results} == {ResultStatus.SENT}
    refresh = http.calls[1].request
    assert refresh.method == "GET"
    assert refresh.url == (
        f"{BITRIX_TOKEN_URL}?grant_type=refresh_token&client_id={BITRIX_CLIENT_ID}"
        f"&client_secret={BITRIX_SECRET}&refresh_token={BITRIX_REFRESH}"
    )
    assert sent_json(http.calls[0])["auth"] == BITRIX_ACCESS
    assert sent_json(http.calls[2]) == {**sent_json(http.calls[0]), "auth": BITRIX_NEW_ACCESS}


def test_the_rotated_refresh_token_is_saved_in_the_store(bitrix, http, token_store):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=REFRESHED)
    http.post(BITRIX_PUSH_URL, json={"result": True})
    before = datetime.now(UTC)

    bitrix.send(SAME_TEXT)

    stored = token_store.get()
    assert (stored.access_token, stored.refresh_token) == (BITRIX_NEW_ACCESS, BITRIX_NEW_REFRESH)
    assert before + timedelta(seconds=3600) <= stored.expires_at
    assert stored.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)


def test_a_refused_refresh_asks_a_person_to_connect_the_app_again(bitrix, http, token_store):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(
        BITRIX_TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "Invalid grant"},
    )

    with pytest.raises(ProviderConfigurationError) as raised:
        bitrix.send(SAME_TEXT)

    assert reason_text(str(raised.value)) == (
        "Bitrix24 refused the stored authorisation (invalid_grant): a person must connect the "
        "Bitrix24 app again (Admin → Connect Bitrix24)."
    )
    assert token_store.get().refresh_token == BITRIX_REFRESH


def test_a_refresh_that_cannot_reach_the_oauth_server_is_retried(bitrix, http, token_store):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, body=transport_error("read_timeout", BITRIX_TOKEN_URL))

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.RETRY, "refresh_failed")}
    assert reason_text(outcome.results[0].message) == (
        "The access token expired and could not be refreshed; nothing was sent. "
        "Bitrix24's OAuth server could not be reached (read_timeout)."
    )
    assert token_store.get().access_token == BITRIX_ACCESS


def test_an_expired_answer_to_the_refreshed_token_is_retried_not_refreshed_again(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=REFRESHED)
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)

    outcome = bitrix.send(SAME_TEXT)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.RETRY, "expired_token")}
    assert len(http.calls) == 3


def test_two_workers_hitting_expired_token_at_once_refresh_only_once(
    provider_settings, token_store, http
):
    both_hold_the_old_token = threading.Barrier(2, timeout=5)
    refreshes = []

    def push(request):
        if json.loads(request.body)["auth"] == BITRIX_ACCESS:
            both_hold_the_old_token.wait()
            return (401, {}, json.dumps(EXPIRED))
        return (200, {}, json.dumps({"result": True}))

    def token(request):
        refreshes.append(request.url)
        time.sleep(0.05)  # the second worker reaches the store's lock meanwhile
        return (200, {}, json.dumps(REFRESHED))

    http.add_callback(responses.POST, BITRIX_PUSH_URL, callback=push)
    http.add_callback(responses.GET, BITRIX_TOKEN_URL, callback=token)
    workers = [get_provider("bitrix24", token_store=token_store) for _ in range(2)]
    outcomes = {}

    def work(number):
        outcomes[number] = workers[number].send([message(number, str(number + 1), body="Hi")])

    threads = [threading.Thread(target=work, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(refreshes) == 1
    assert [outcomes[n].results[0].status for n in range(2)] == [ResultStatus.SENT] * 2
    assert token_store.get().refresh_token == BITRIX_NEW_REFRESH
    assert [sent_json(call)["auth"] for call in http.calls if call.request.method == "POST"][
        2:
    ] == [BITRIX_NEW_ACCESS, BITRIX_NEW_ACCESS]


def test_a_portal_that_was_never_connected_is_a_configuration_error(provider_settings, http):
    bitrix = get_provider("bitrix24", token_store=MemoryTokenStore())

    with pytest.raises(ProviderConfigurationError) as raised:
        bitrix.send(SAME_TEXT)

    assert reason_text(str(raised.value)) == (
        "Bitrix24 is not connected: a person must connect the app (Admin → Connect Bitrix24)"
    )
    assert read_in("ru", str(raised.value)).startswith("Bitrix24 не подключён: ")


def test_a_provider_without_a_token_store_cannot_be_built(provider_settings):
    with pytest.raises(ValueError, match="token_store"):
        get_provider("bitrix24")


def test_tokens_never_show_in_their_repr():
    assert repr(Tokens(BITRIX_ACCESS, BITRIX_REFRESH)) == "Tokens(expires_at=None)"


def test_the_memory_store_returns_the_newer_tokens_without_refreshing():
    store = MemoryTokenStore(Tokens("new-access", "new-refresh"))

    tokens = store.refresh("old-access", lambda refresh_token: pytest.fail("refreshed again"))

    assert (tokens.access_token, tokens.refresh_token) == ("new-access", "new-refresh")


def test_no_token_or_secret_reaches_the_log_during_a_refresh(bitrix, http, caplog):
    caplog.set_level("DEBUG")
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=REFRESHED)
    http.post(BITRIX_PUSH_URL, json={"result": True})

    bitrix.send(SAME_TEXT)

    lines = [record.getMessage() for record in caplog.records]
    assert f"bitrix24: GET {BITRIX_TOKEN_URL}?grant_type=refresh_token&client_id=" in lines[2]
    assert "client_secret=[redacted]&refresh_token=[redacted]" in lines[2]
    assert all("s3cr3t" not in line for line in lines)


def test_a_bare_portal_host_is_accepted_and_names_the_account(provider_settings, token_store):
    provider_settings.BITRIX24_PORTAL_URL = "portal.bitrix24.test/"

    bitrix = get_provider("bitrix24", token_store=token_store)

    assert (bitrix.portal_url, bitrix.account) == (
        "https://portal.bitrix24.test",
        "portal.bitrix24.test",
    )


def test_the_limits_are_the_cloud_bucket_and_enterprise_can_raise_them(
    provider_settings, token_store
):
    limits = get_provider("bitrix24", token_store=token_store).limits
    assert (limits.batch_size, limits.rate, limits.burst) == (50, "2/s", 50)

    provider_settings.BITRIX24_RATE = "5/s"
    provider_settings.BITRIX24_BURST = "250"
    limits = get_provider("bitrix24", token_store=token_store).limits
    assert (limits.rate_count, limits.burst) == (5, 250)


# --- OAuth helpers for the admin page and the management command ------------------------------


def test_the_authorize_url_points_at_the_portals_consent_page(provider_settings):
    assert authorize_url("state-123") == (
        f"https://portal.bitrix24.test/oauth/authorize/?client_id={BITRIX_CLIENT_ID}"
        "&state=state-123"
    )


def test_exchanging_the_code_asks_for_the_first_tokens(provider_settings, http):
    http.get(BITRIX_TOKEN_URL, json=REFRESHED)

    tokens = exchange_code("code-abc")

    assert query(http.calls[0]) == {
        "grant_type": "authorization_code",
        "client_id": BITRIX_CLIENT_ID,
        "client_secret": BITRIX_SECRET,
        "code": "code-abc",
    }
    assert (tokens.access_token, tokens.refresh_token) == (BITRIX_NEW_ACCESS, BITRIX_NEW_REFRESH)


def test_exchanging_a_refresh_token_returns_the_new_pair(provider_settings, http):
    http.get(BITRIX_TOKEN_URL, json={**REFRESHED, "expires": 2100000000})

    tokens = exchange_refresh_token(BITRIX_REFRESH)

    assert query(http.calls[0])["grant_type"] == "refresh_token"
    assert query(http.calls[0])["refresh_token"] == BITRIX_REFRESH
    assert tokens == Tokens(
        BITRIX_NEW_ACCESS, BITRIX_NEW_REFRESH, datetime.fromtimestamp(2100000000, UTC)
    )


def test_an_invalid_grant_when_exchanging_is_a_configuration_error(provider_settings, http):
    http.get(BITRIX_TOKEN_URL, status=400, json={"error": "invalid_grant"})

    with raises_saying("Admin → Connect Bitrix24"):
        exchange_code("too-late")


def test_an_invalid_client_names_the_client_settings(provider_settings, http):
    http.get(BITRIX_TOKEN_URL, status=401, json={"error": "invalid_client"})

    with pytest.raises(ProviderConfigurationError) as raised:
        exchange_code("code")

    assert "BITRIX24_CLIENT_ID or BITRIX24_CLIENT_SECRET" in str(raised.value)


def test_an_oauth_server_that_is_down_is_an_error_to_try_again(provider_settings, http):
    http.get(BITRIX_TOKEN_URL, status=502, body="<html>Bad Gateway</html>")

    with pytest.raises(ProviderError) as raised:
        exchange_code("code")

    assert not isinstance(raised.value, ProviderConfigurationError)
    assert reason_text(str(raised.value)) == (
        "Bitrix24's OAuth server answered HTTP 502 without tokens. Try again."
    )


def test_the_oauth_helpers_name_a_missing_setting(provider_settings):
    provider_settings.BITRIX24_CLIENT_SECRET = ""

    with pytest.raises(ProviderConfigurationError) as raised:
        exchange_code("code")

    assert reason_text(str(raised.value)) == "BITRIX24_CLIENT_SECRET is not set"


def test_a_stored_refusal_reads_in_the_readers_language_and_keeps_bitrix24s_words(bitrix, http):
    http.post(
        BITRIX_PUSH_URL,
        status=400,
        json={"error": "ACCESS_ERROR", "error_description": "Доступ только администраторам"},
    )

    reads = stored_reads(bitrix.send(SAME_TEXT))

    assert reads == {
        "en": "ACCESS_ERROR: Bitrix24 answered ACCESS_ERROR: Доступ только администраторам",
        "ru": "ACCESS_ERROR: Bitrix24 ответил ACCESS_ERROR: Доступ только администраторам",
    }


def test_a_configuration_error_quoted_by_a_pause_reads_in_the_readers_language(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=403, json=fixture("bitrix24_wrong_auth_type.json"))

    with raises_saying("WRONG_AUTH_TYPE") as raised:
        bitrix.send(SAME_TEXT)

    stored = reason_encode("provider_configuration", channel="bitrix24", error=str(raised.value))
    russian = read_in("ru", stored)
    assert russian.startswith("Пуш Bitrix24: Bitrix24 ответил WRONG_AUTH_TYPE: пуши может")
    assert russian.endswith(
        "(Админка → Подключить Bitrix24). "
        "Send push notifications available only for application authorization."
    )


def test_a_refresh_that_cannot_reach_the_oauth_server_reads_in_the_readers_language(
    bitrix, http, token_store
):
    http.post(BITRIX_PUSH_URL, status=401, json={"error": "expired_token"})
    http.get(BITRIX_TOKEN_URL, body=transport_error("read_timeout", BITRIX_TOKEN_URL))

    reads = stored_reads(bitrix.send(SAME_TEXT))

    assert reads["ru"].startswith("refresh_failed: Срок действия токена доступа истёк")
    assert reads["ru"].endswith("Не удалось связаться с OAuth-сервером Bitrix24 (read_timeout).")
