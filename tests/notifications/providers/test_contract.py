"""What the dispatch engine relies on from every provider, checked on all four alike.

- `plan` never makes a group larger than declared, and loses or repeats no message;
- `send` makes exactly one request per planned group and returns one result per message, in order;
- no secret appears in a result, an exception or a log record, whatever the answer.
"""

import json

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.providers.bitrix24.provider import Bitrix24Provider
from notifications.providers.bitrix24.tokens import MemoryTokenStore, Tokens
from notifications.providers.exceptions import ProviderError
from notifications.providers.imshop import ImshopProvider
from notifications.providers.leadconverter import LeadConverterProvider
from notifications.providers.limits import Limits
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from notifications.providers.yandex_market import YandexMarketProvider
from tests.notifications.providers.conftest import (
    BITRIX_ACCESS,
    BITRIX_BATCH_URL,
    BITRIX_NEW_ACCESS,
    BITRIX_NEW_REFRESH,
    BITRIX_PUSH_URL,
    BITRIX_REFRESH,
    BITRIX_SECRET,
    BITRIX_TOKEN_URL,
    IMSHOP_KEY,
    IMSHOP_URL,
    LEADCONVERTER_TOKEN,
    LEADCONVERTER_URL,
    MAYBE_SENT,
    NEVER_SENT,
    SECRETS,
    YANDEX_KEY,
    YANDEX_URL,
    message,
    transport_error,
)

CHANNELS = ["imshop", "leadconverter", "yandex_market", "bitrix24"]
URLS = {
    "imshop": [IMSHOP_URL],
    "leadconverter": [LEADCONVERTER_URL],
    "yandex_market": [YANDEX_URL],
    "bitrix24": [BITRIX_PUSH_URL, BITRIX_BATCH_URL],
}
BATCH_SIZE_SETTINGS = {
    "imshop": "IMSHOP_BATCH_SIZE",
    "leadconverter": "LEADCONVERTER_BATCH_SIZE",
    "bitrix24": "BITRIX24_BATCH_SIZE",
}


def messages(count: int) -> list:
    """Valid on every channel, with a few distinct contents so grouping has work to do."""
    return [
        message(
            n,
            str(n),
            title=f"Title {n % 2}",
            body=f"Text {n % 3}",
            deeplink="app://sale" if n % 5 == 0 else "",
        )
        for n in range(1, count + 1)
    ]


def accept_everything(http: responses.RequestsMock, channel: str) -> None:
    """Register a success answer for every request the channel can make."""

    def bitrix_batch(request):
        commands = json.loads(request.body)["cmd"]
        return (200, {}, json.dumps({"result": {"result": dict.fromkeys(commands, True)}}))

    answers = {
        "imshop": {"success": True},
        "leadconverter": {"result": "ok"},
        "yandex_market": {"status": "OK"},
        "bitrix24": {"result": True},
    }
    http.add(responses.POST, URLS[channel][0], json=answers[channel])
    if channel == "bitrix24":
        http.add_callback(responses.POST, BITRIX_BATCH_URL, callback=bitrix_batch)
    http.assert_all_requests_are_fired = False


@pytest.fixture(params=CHANNELS)
def channel(request):
    return request.param


@pytest.fixture
def provider(channel, provider_settings, token_store):
    return get_provider(channel, token_store=token_store)


def test_plan_never_makes_a_group_larger_than_declared(provider):
    groups = provider.plan(messages(260))

    assert groups
    assert max(len(group) for group in groups) <= provider.limits.batch_size


@pytest.mark.parametrize("channel", list(BATCH_SIZE_SETTINGS))
def test_plan_honours_a_lowered_batch_size(channel, provider_settings, token_store):
    setattr(provider_settings, BATCH_SIZE_SETTINGS[channel], 7)
    provider = get_provider(channel, token_store=token_store)

    groups = provider.plan(messages(60))

    assert provider.limits.batch_size == 7
    assert max(len(group) for group in groups) == 7


def test_plan_keeps_every_message_exactly_once(provider):
    sent = messages(130)

    groups = provider.plan(sent)

    assert sorted(m.delivery_id for group in groups for m in group) == list(range(1, 131))


def test_every_planned_group_is_exactly_one_request(provider, channel, http):
    accept_everything(http, channel)

    for group in provider.plan(messages(130)):
        before = len(http.calls)
        provider.send(group)
        assert len(http.calls) == before + 1


def test_send_returns_one_result_per_message_in_the_groups_order(provider, channel, http):
    accept_everything(http, channel)

    for group in provider.plan(messages(130)):
        outcome = provider.send(group)
        assert [r.delivery_id for r in outcome.results] == [m.delivery_id for m in group]
        assert {r.status for r in outcome.results} == {ResultStatus.SENT}


def test_a_group_larger_than_declared_is_refused_before_any_request(provider, http):
    too_many = messages(provider.limits.batch_size + 1)

    with pytest.raises(ValueError, match="at most"):
        provider.send(too_many)

    assert len(http.calls) == 0


def test_an_invalid_message_gets_its_result_in_place_without_a_request_of_its_own(
    provider, channel, http
):
    accept_everything(http, channel)
    group = [message(1, "not a number" if channel != "imshop" else " ", title="T", body="B")]

    outcome = provider.send(group)

    assert [(r.delivery_id, r.status) for r in outcome.results] == [(1, ResultStatus.FAILED)]
    assert len(http.calls) == 0


# --- Secrets -----------------------------------------------------------------------------------

# The secrets each provider holds, and so may find echoed in an answer.
OWN_SECRETS = {
    "imshop": [IMSHOP_KEY],
    "leadconverter": [LEADCONVERTER_TOKEN, "lc-token-s3cr3t%2F2222"],
    "yandex_market": [YANDEX_KEY],
    "bitrix24": [BITRIX_SECRET, BITRIX_ACCESS, BITRIX_REFRESH],
}


def leaky_answers(channel):
    """Answers that echo the provider's secrets, and transport errors whose text has the URL."""
    url = URLS[channel][0]
    echoed = " ".join(OWN_SECRETS[channel])
    yield {"status": 200, "json": {"error": echoed, "message": echoed, "success": False}}
    yield {"status": 500, "body": f"<html>{echoed}</html>"}
    yield {"status": 400, "json": {"error": echoed, "errors": [{"code": echoed}]}}
    yield {"status": 429, "json": {"error": echoed}, "headers": {"Retry-After": "1"}}
    yield {"status": 401, "json": {"error": echoed, "error_description": echoed}}
    yield {"status": 403, "json": {"error": "WRONG_AUTH_TYPE", "error_description": echoed}}
    for kind, _ in NEVER_SENT + MAYBE_SENT:
        yield {"body": transport_error(kind, f"{url}?{echoed}")}


def test_no_secret_appears_in_results_exceptions_or_log_records(provider, channel, http, caplog):
    caplog.set_level("DEBUG")
    seen = []
    for answer in leaky_answers(channel):
        http.reset()
        http.add(responses.POST, URLS[channel][0], **answer)
        try:
            outcome = provider.send(messages(1))
        except ProviderError as error:
            seen += [str(error), repr(error.args), error.response_text, repr(error.__cause__)]
            seen += [repr(error.__context__)]
        else:
            seen += [json.dumps(r.response) + r.code + r.message for r in outcome.results]
    seen += [record.getMessage() + str(record.exc_text) for record in caplog.records]

    assert len(seen) > 10
    leaks = [text for text in seen for secret in SECRETS if secret in text]
    assert leaks == []


def test_no_bitrix24_token_leaks_through_a_refresh_that_fails(
    provider_settings, token_store, http, caplog
):
    caplog.set_level("DEBUG")
    provider = get_provider("bitrix24", token_store=token_store)
    expired = {"error": "expired_token", "error_description": BITRIX_ACCESS}
    http.add(responses.POST, BITRIX_PUSH_URL, status=401, json=expired)
    http.add(
        responses.GET,
        BITRIX_TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": f"{BITRIX_REFRESH} {BITRIX_SECRET}"},
    )

    with pytest.raises(ProviderError) as raised:
        provider.send(messages(1))

    texts = [str(raised.value), raised.value.response_text]
    texts += [record.getMessage() for record in caplog.records]
    assert [text for text in texts for secret in SECRETS if secret in text] == []
    assert BITRIX_NEW_ACCESS not in repr(Tokens(BITRIX_NEW_ACCESS, BITRIX_NEW_REFRESH))


# --- plan, as a property --------------------------------------------------------------------

contents = st.builds(
    dict,
    title=st.sampled_from(["A", "B"]),
    body=st.sampled_from(["x", "y", "z", "w"]),
    deeplink=st.sampled_from(["", "app://1"]),
    avatar_url=st.sampled_from(["", "https://a.test/1.png"]),
)


def providers(batch_size: int) -> list:
    limits = {"limits": Limits(batch_size=batch_size, rate="1/s")}
    store = MemoryTokenStore(Tokens("access-token-x", "refresh-token-x"))
    return [
        ImshopProvider(push_url="https://i.test/push", api_key="imshop-key-x", **limits),
        LeadConverterProvider(api_url="https://l.test/api", token="lc-token-x", **limits),
        YandexMarketProvider(api_url="https://y.test", api_key="ym-key-x", business_id="1"),
        Bitrix24Provider(
            portal_url="https://b.test",
            client_id="client-x",
            client_secret="client-secret-x",
            token_store=store,
            **limits,
        ),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contents, max_size=120), st.integers(min_value=1, max_value=50))
def test_plan_partitions_any_messages_into_groups_that_each_fit_one_request(
    content_list, batch_size
):
    sent = [message(n, str(n), **content) for n, content in enumerate(content_list, start=1)]
    for provider in providers(batch_size):
        groups = provider.plan(sent)

        assert all(1 <= len(group) <= provider.limits.batch_size for group in groups)
        assert sorted(m.delivery_id for group in groups for m in group) == list(
            range(1, len(sent) + 1)
        )
        if provider.channel == "imshop":
            # One push per request: title, text and deeplink shared by the whole group.
            assert all(
                len({(m.content.title, m.content.body, m.content.deeplink) for m in group}) == 1
                for group in groups
            )
        if provider.channel == "bitrix24":
            assert all(
                len({(m.content.body, m.content.avatar_url) for m in group}) <= 50
                for group in groups
            )
