"""Yandex Market chat messages: the exact request, errors, quota headers and 420 holds."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.http import USER_AGENT
from notifications.providers.registry import get_provider
from notifications.providers.values import QuotaInfo, ResultStatus
from tests.notifications.providers.conftest import (
    MAYBE_SENT,
    NEVER_SENT,
    YANDEX_KEY,
    YANDEX_URL,
    fixture,
    message,
    sent_json,
    transport_error,
)
from tests.support.long_texts import AT_AND_OVER

CHAT_URL = f"{YANDEX_URL}?chatId=12345"
UNTIL = "Wed, 21 Oct 2037 07:00:00 GMT"
UNTIL_AT = datetime(2037, 10, 21, 7, 0, tzinfo=UTC)
QUOTA_HEADERS = {
    "X-RateLimit-Resource-Limit": "1000",
    "X-RateLimit-Resource-Remaining": "998",
    "X-RateLimit-Resource-Until": UNTIL,
}
HELLO = message(5, "12345", body="Hello! Your order has shipped.")


def error_body(code: str, text: str) -> dict:
    return {"status": "ERROR", "errors": [{"code": code, "message": text}]}


def test_the_message_is_posted_to_the_v2_chat_url_with_the_api_key(yandex, http):
    http.post(YANDEX_URL, json=fixture("yandex_market_ok.json"))

    yandex.send([HELLO])

    request = http.calls[0].request
    assert request.method == "POST"
    assert request.url == CHAT_URL
    assert request.headers["Api-Key"] == YANDEX_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert sent_json(http.calls[0]) == {"message": "Hello! Your order has shipped."}


def test_status_ok_marks_the_message_sent_and_passes_on_the_quota(yandex, http):
    http.post(YANDEX_URL, json={"status": "OK"}, headers=QUOTA_HEADERS)

    outcome = yandex.send([HELLO])

    assert outcome.results[0].status == ResultStatus.SENT
    assert outcome.results[0].response == {"status_code": 200, "body": {"status": "OK"}}
    assert outcome.quota == QuotaInfo(limit=1000, remaining=998, resets_at=UNTIL_AT)
    assert outcome.hold_until is None


def test_an_empty_200_answer_means_sent_as_documented(yandex, http):
    http.post(YANDEX_URL, body="")

    outcome = yandex.send([HELLO])

    assert outcome.results[0].status == ResultStatus.SENT
    assert outcome.quota is None


def test_a_200_with_unparsable_json_still_means_sent(yandex, http):
    http.post(YANDEX_URL, body="{oops", content_type="application/json")

    outcome = yandex.send([HELLO])

    assert outcome.results[0].status == ResultStatus.SENT
    assert outcome.results[0].response == {"status_code": 200, "text": "{oops"}


def test_a_200_whose_body_says_error_fails_the_message(yandex, http):
    http.post(YANDEX_URL, json=error_body("BAD_MESSAGE", "Message rejected"))

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.FAILED,
        "BAD_MESSAGE",
    )


def test_the_last_request_of_the_hour_holds_the_business_until_the_quota_resets(yandex, http):
    http.post(
        YANDEX_URL,
        json={"status": "OK"},
        headers={**QUOTA_HEADERS, "X-RateLimit-Resource-Remaining": "0"},
    )

    outcome = yandex.send([HELLO])

    assert outcome.results[0].status == ResultStatus.SENT
    assert outcome.hold_until == UNTIL_AT
    assert outcome.quota == QuotaInfo(limit=1000, remaining=0, resets_at=UNTIL_AT)


def test_http_400_fails_the_message_with_every_error_listed(yandex, http):
    http.post(
        YANDEX_URL,
        status=400,
        json={
            "status": "ERROR",
            "errors": [
                {"code": "BAD_REQUEST", "message": "message is too long"},
                {"code": "INVALID_FIELD", "message": "chatId"},
            ],
        },
    )

    outcome = yandex.send([HELLO])

    result = outcome.results[0]
    assert (result.status, result.code) == (ResultStatus.FAILED, "BAD_REQUEST")
    assert result.message == (
        "Yandex Market answered HTTP 400: BAD_REQUEST: message is too long; INVALID_FIELD: chatId"
    )


def test_the_documented_error_example_is_read_even_though_its_status_says_ok(yandex, http):
    http.post(YANDEX_URL, status=400, json=fixture("yandex_market_error_documented.json"))

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (ResultStatus.FAILED, "string")
    assert outcome.results[0].message == "Yandex Market answered HTTP 400: string: string"


def test_http_404_fails_the_message_because_the_chat_is_gone(yandex, http):
    http.post(YANDEX_URL, status=404, json=error_body("NOT_FOUND", "Chat not found"))

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.FAILED,
        "NOT_FOUND",
    )


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_raise_a_configuration_error(yandex, http, status):
    http.post(YANDEX_URL, status=status, json=error_body("UNAUTHORIZED", "Invalid token"))

    with pytest.raises(ProviderConfigurationError) as raised:
        yandex.send([HELLO])

    assert str(raised.value) == (
        f"Yandex Market refused YANDEX_MARKET_API_KEY for business 777 (HTTP {status}); check "
        "the key, its `communication` scope and YANDEX_MARKET_BUSINESS_ID: UNAUTHORIZED: "
        "Invalid token"
    )
    assert raised.value.status_code == status


def test_420_retries_at_the_quota_reset_and_holds_the_business_until_then(yandex, http):
    http.post(
        YANDEX_URL,
        status=420,
        json=error_body("LIMIT_EXCEEDED", "Too many requests"),
        headers={**QUOTA_HEADERS, "X-RateLimit-Resource-Remaining": "0"},
    )

    outcome = yandex.send([HELLO])

    result = outcome.results[0]
    assert (result.status, result.code, result.retry_at) == (
        ResultStatus.RETRY,
        "LIMIT_EXCEEDED",
        UNTIL_AT,
    )
    assert outcome.hold_until == UNTIL_AT
    assert outcome.quota == QuotaInfo(limit=1000, remaining=0, resets_at=UNTIL_AT)


def test_420_with_quota_left_is_the_parallel_limit_and_holds_only_briefly(yandex, http):
    # The hourly quota is not used up, so the 420 is for parallel requests: holding the
    # business until the hour's reset would stall every campaign for nothing.
    http.post(
        YANDEX_URL,
        status=420,
        json=error_body("LIMIT_EXCEEDED", "Too many requests"),
        headers={**QUOTA_HEADERS, "X-RateLimit-Resource-Remaining": "640"},
    )
    before = datetime.now(UTC)

    outcome = yandex.send([HELLO])

    assert outcome.results[0].status == ResultStatus.RETRY
    assert before < outcome.hold_until <= before + timedelta(seconds=5)
    assert outcome.hold_until < UNTIL_AT


def test_420_without_reset_headers_holds_for_the_hour_of_the_quota(yandex, http):
    http.post(YANDEX_URL, status=420, json=error_body("LIMIT_EXCEEDED", "Too many requests"))
    before = datetime.now(UTC)

    outcome = yandex.send([HELLO])

    after = datetime.now(UTC)
    assert outcome.results[0].status == ResultStatus.RETRY
    assert outcome.results[0].retry_at is None
    assert before + timedelta(hours=1) <= outcome.hold_until <= after + timedelta(hours=1)
    assert outcome.quota is None


def test_an_unreadable_until_header_is_ignored(yandex, http):
    http.post(
        YANDEX_URL,
        status=420,
        headers={"X-RateLimit-Resource-Until": "tomorrow", "X-RateLimit-Resource-Remaining": "0"},
    )

    outcome = yandex.send([HELLO])

    assert outcome.quota == QuotaInfo(limit=None, remaining=0, resets_at=None)
    assert outcome.results[0].retry_at is None


def test_a_failed_request_that_uses_up_the_quota_holds_the_business(yandex, http):
    http.post(
        YANDEX_URL,
        status=404,
        json=error_body("NOT_FOUND", "Chat not found"),
        headers={**QUOTA_HEADERS, "X-RateLimit-Resource-Remaining": "0"},
    )

    outcome = yandex.send([HELLO])

    assert outcome.results[0].status == ResultStatus.FAILED
    assert outcome.hold_until == UNTIL_AT


def test_http_500_is_retried(yandex, http):
    http.post(YANDEX_URL, status=500, json=error_body("INTERNAL_ERROR", "Internal error"))

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.RETRY,
        "INTERNAL_ERROR",
    )
    assert outcome.hold_until is None


def test_an_html_error_page_is_retried(yandex, http):
    http.post(YANDEX_URL, status=502, body="<html><body>Bad Gateway</body></html>")

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (ResultStatus.RETRY, "http_502")


@pytest.mark.parametrize(("kind", "code"), NEVER_SENT)
def test_a_request_that_never_left_is_retried(yandex, http, kind, code):
    http.post(YANDEX_URL, body=transport_error(kind, CHAT_URL))

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (ResultStatus.RETRY, code)


@pytest.mark.parametrize(("kind", "code"), MAYBE_SENT)
def test_a_request_that_may_have_arrived_without_an_answer_is_unknown(yandex, http, kind, code):
    http.post(YANDEX_URL, body=transport_error(kind, CHAT_URL))

    outcome = yandex.send([HELLO])

    assert (outcome.results[0].status, outcome.results[0].code) == (ResultStatus.UNKNOWN, code)


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_a_text_one_character_over_4096_fails_without_a_request(yandex, http, made_of, at, over):
    outcome = yandex.send([message(1, "12345", body=over)])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.FAILED,
        "invalid_content",
    )
    assert outcome.results[0].message == (
        "Yandex Market takes 1 to 4096 characters; this text has 4097."
    )
    assert len(http.calls) == 0


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_a_text_of_exactly_4096_characters_is_sent_as_it_is(yandex, http, made_of, at, over):
    http.post(YANDEX_URL, json={"status": "OK"})

    outcome = yandex.send([message(1, "12345", body=at)])

    assert outcome.results[0].status == ResultStatus.SENT
    assert sent_json(http.calls[0]) == {"message": at}


def test_an_empty_text_fails_without_a_request(yandex, http):
    outcome = yandex.send([message(1, "12345", body="")])

    assert outcome.results[0].code == "invalid_content"
    assert len(http.calls) == 0


def test_a_chat_id_that_is_not_a_number_fails_without_a_request(yandex, http):
    outcome = yandex.send([message(1, "chat-1", body="Hi")])

    assert outcome.results[0].code == "invalid_address"
    assert len(http.calls) == 0


def test_every_message_is_its_own_request(yandex):
    messages = [message(n, str(n), body="Same text") for n in range(1, 4)]

    assert yandex.plan(messages) == [[messages[0]], [messages[1]], [messages[2]]]


def test_a_group_of_two_messages_is_refused(yandex):
    with pytest.raises(ValueError, match="at most 1"):
        yandex.send([HELLO, HELLO])


def test_the_limits_are_per_business_and_overridable(provider_settings):
    provider = get_provider("yandex_market")
    assert provider.account == "777"
    assert (provider.limits.rate, provider.limits.parallel, provider.limits.quota_window) == (
        "1000/h",
        4,
        3600,
    )

    provider_settings.YANDEX_MARKET_RATE = "500/h"
    provider_settings.YANDEX_MARKET_PARALLEL = 2
    provider = get_provider("yandex_market")
    assert (provider.limits.rate_count, provider.limits.rate_period) == (500, 3600)
    assert provider.limits.parallel == 2


def test_a_business_id_that_is_not_a_number_is_a_configuration_error(provider_settings):
    provider_settings.YANDEX_MARKET_BUSINESS_ID = "my-shop"

    with pytest.raises(ProviderConfigurationError, match="YANDEX_MARKET_BUSINESS_ID must be a"):
        get_provider("yandex_market")
