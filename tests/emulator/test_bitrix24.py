"""The Bitrix24 emulator: OAuth application auth, pushes and batches, the leaky bucket, token
expiry and rotation, and the consent step our admin's "Connect Bitrix24" goes through."""

import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from notifications.models import Bitrix24Token
from notifications.providers.bitrix24.oauth import exchange_refresh_token
from notifications.providers.bitrix24.tokens import MemoryTokenStore, Tokens
from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from tests.emulator.conftest import CREDENTIALS, message, provider_stats

PUSH = "pull.application.push.add"


def connected(emulator) -> MemoryTokenStore:
    """A token store holding what installing the app on the emulated portal gives."""
    issued = emulator.bitrix24_tokens()
    return MemoryTokenStore(Tokens(issued["access_token"], issued["refresh_token"]))


def call(emulator, http, method, **params):
    return http.post(f"{emulator.url}/rest/{method}.json", json=params)


def test_our_clients_push_to_several_users_is_one_accepted_call(emulator, pointed):
    pointed(emulator)
    provider = get_provider("bitrix24", token_store=connected(emulator))
    group = [message(n, str(n + 1), body="Hello") for n in range(3)]
    outcome = provider.send(group)
    assert {result.status for result in outcome.results} == {ResultStatus.SENT}
    assert [m.address for m in emulator.messages("bitrix24")] == ["1", "2", "3"]
    assert provider_stats(emulator, "bitrix24")["requests"] == 1


def test_our_clients_batch_of_different_texts_is_accepted(emulator, pointed):
    pointed(emulator)
    provider = get_provider("bitrix24", token_store=connected(emulator))
    group = [
        message(n, str(n + 1), body=f"Hello {n}", avatar_url="https://a.test/1.png")
        for n in range(5)
    ]
    outcome = provider.send(group)
    assert {result.status for result in outcome.results} == {ResultStatus.SENT}
    stats = provider_stats(emulator, "bitrix24")
    assert (stats["requests"], stats["accepted_calls"], stats["messages"]) == (1, 5, 5)


def test_a_call_in_a_batch_without_text_fails_alone(emulator, http):
    token = emulator.bitrix24_tokens()["access_token"]
    commands = {"a": f"{PUSH}?USER_ID[]=1&TEXT=Hi", "b": f"{PUSH}?USER_ID[]=2"}
    answer = call(emulator, http, "batch", halt=0, cmd=commands, auth=token)
    result = answer.json()["result"]
    assert result["result"] == {"a": True}
    assert result["result_error"]["b"]["error"] == "TEXT_ERROR"
    assert [m.address for m in emulator.messages("bitrix24")] == ["1"]


def test_more_than_50_calls_in_a_batch_are_refused(emulator, http):
    token = emulator.bitrix24_tokens()["access_token"]
    commands = {f"c{n}": f"{PUSH}?USER_ID[]=1&TEXT=Hi" for n in range(51)}
    answer = call(emulator, http, "batch", halt=0, cmd=commands, auth=token)
    assert answer.status_code == 400
    assert answer.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert provider_stats(emulator, "bitrix24")["messages"] == 0


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"USER_ID": [1], "TEXT": "Hi"}, 401, "NO_AUTH_FOUND"),
        ({"USER_ID": [1], "TEXT": "Hi", "auth": "made-up"}, 401, "invalid_token"),
        ({"USER_ID": [1], "TEXT": "", "auth": None}, 400, "TEXT_ERROR"),
        ({"TEXT": "Hi", "auth": None}, 400, "USER_ID_ERROR"),
    ],
)
def test_what_bitrix24_refuses_is_refused(emulator, http, params, status, error):
    if "auth" in params and params["auth"] is None:
        params["auth"] = emulator.bitrix24_tokens()["access_token"]
    answer = call(emulator, http, PUSH, **params)
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_an_inbound_webhook_may_not_send_app_pushes(emulator, http):
    answer = http.post(f"{emulator.url}/rest/1/abcdef123/{PUSH}.json", json={"USER_ID": [1]})
    assert answer.status_code == 403
    assert answer.json()["error"] == "WRONG_AUTH_TYPE"


def test_an_unknown_token_makes_our_client_ask_for_a_person(emulator, pointed):
    pointed(emulator)
    store = MemoryTokenStore(Tokens("made-up", "made-up-too"))
    with pytest.raises(ProviderConfigurationError):
        get_provider("bitrix24", token_store=store).send([message(1, "1", body="Hi")])


def test_an_expired_token_is_refreshed_by_our_client_and_the_old_refresh_token_dies(
    make_emulator, pointed
):
    # Access tokens live 1 s: long enough for the refreshed one to carry the repeat even on a busy
    # machine (at 0.1 s it could expire in turn, a second refusal).
    emulator = make_emulator(time_scale=3600)
    pointed(emulator)
    store = connected(emulator)
    first = store.get()
    time.sleep(1.1)
    outcome = get_provider("bitrix24", token_store=store).send([message(1, "7", body="Hi")])
    assert outcome.results[0].status == ResultStatus.SENT
    assert store.get().refresh_token != first.refresh_token
    stats = provider_stats(emulator, "bitrix24")
    assert stats["refusals"] == {"expired_token": 1}
    assert stats["oauth"] == {"granted_refresh_token": 1}
    with pytest.raises(ProviderConfigurationError, match="invalid_grant"):
        exchange_refresh_token(first.refresh_token)


def test_the_token_endpoint_refuses_a_wrong_client_secret(emulator, http):
    refresh = emulator.bitrix24_tokens()["refresh_token"]
    answer = http.get(
        f"{emulator.url}/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": CREDENTIALS.bitrix24_client_id,
            "client_secret": "wrong",
            "refresh_token": refresh,
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_a_full_bucket_answers_query_limit_exceeded_and_our_client_holds(emulator, pointed, http):
    token = emulator.bitrix24_tokens()["access_token"]
    answers = [call(emulator, http, PUSH, USER_ID=[1], TEXT="Hi", auth=token) for _ in range(60)]
    assert all(answer.ok for answer in answers[:50])
    refused = [answer for answer in answers[50:] if not answer.ok]
    assert refused
    assert {(a.status_code, a.json()["error"]) for a in refused} == {(503, "QUERY_LIMIT_EXCEEDED")}
    pointed(emulator)
    outcome = get_provider("bitrix24", token_store=connected(emulator)).send(
        [message(1, "1", body="Hi")]
    )
    assert outcome.results[0].status == ResultStatus.RETRY
    assert outcome.hold_until > datetime.now(UTC)


def test_the_full_bucket_drains_at_its_rate(make_emulator, http):
    emulator = make_emulator(time_scale=10)  # 20 requests a second drain
    token = emulator.bitrix24_tokens()["access_token"]

    def push():
        return call(emulator, http, PUSH, USER_ID=[1], TEXT="Hi", auth=token).ok

    assert not all(push() for _ in range(200))
    full = time.monotonic()
    time.sleep(0.25)
    accepted = sum(push() for _ in range(10))
    elapsed = time.monotonic() - full
    # At least what 0.25 s drained (5), at most what the whole time drained.
    assert 4 <= accepted <= 20 * elapsed + 1


@pytest.mark.django_db
def test_staff_connect_bitrix24_through_the_emulated_consent_step(
    make_emulator, pointed, admin_client, http
):
    emulator = make_emulator(
        bitrix24_redirect_uri="http://testserver/admin/notifications/bitrix24token/callback/"
    )
    pointed(emulator)
    started = admin_client.post("/admin/notifications/bitrix24token/connect/")
    assert started.status_code == 302
    consent = http.get(started["Location"], allow_redirects=False)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    assert parse_qs(back.query)["domain"] == [urlsplit(emulator.url).netloc]
    finished = admin_client.get(f"{back.path}?{back.query}")
    assert finished.status_code == 302
    stored = Bitrix24Token.objects.get()
    assert stored.expires_at > datetime.now(UTC)
    answer = call(emulator, http, PUSH, USER_ID=[1], TEXT="Hi", auth=stored.access_token)
    assert answer.json()["result"] is True


def test_a_code_works_once(emulator, http):
    consent = http.get(
        f"{emulator.url}/oauth/authorize/",
        params={
            "client_id": CREDENTIALS.bitrix24_client_id,
            "state": "s1",
            "redirect_uri": "http://app.test/back",
        },
        allow_redirects=False,
    )
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    grant = {
        "grant_type": "authorization_code",
        "client_id": CREDENTIALS.bitrix24_client_id,
        "client_secret": CREDENTIALS.bitrix24_client_secret,
        "code": code,
    }
    assert http.get(f"{emulator.url}/oauth/token/", params=grant).json()["access_token"]
    again = http.get(f"{emulator.url}/oauth/token/", params=grant)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_the_consent_step_refuses_an_unknown_app(emulator, http):
    answer = http.get(
        f"{emulator.url}/oauth/authorize/",
        params={"client_id": "other", "state": "s"},
        allow_redirects=False,
    )
    assert answer.status_code == 400
