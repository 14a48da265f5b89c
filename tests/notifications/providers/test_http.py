"""The shared HTTP client: one session per process, no retries, no cookies, answers read."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.providers import http as provider_http
from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.http import USER_AGENT, Answer, parse_http_date, shared_session
from notifications.reasons import reason_text
from tests.notifications.providers.conftest import (
    IMSHOP_URL,
    LEADCONVERTER_TOKEN,
    message,
    stored_reads,
    transport_error,
)


def test_the_user_agent_names_vestnik_and_its_version():
    assert USER_AGENT.startswith("Vestnik/")
    assert shared_session().headers["User-Agent"] == USER_AGENT


def test_one_session_is_shared_within_a_process_and_remade_after_a_fork(monkeypatch):
    first = shared_session()
    assert shared_session() is first

    monkeypatch.setattr(provider_http.os, "getpid", lambda: -1)

    assert shared_session() is not first


def test_the_session_never_retries_on_its_own():
    adapter = shared_session().get_adapter("https://provider.test/")

    assert adapter.max_retries.total == 0


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("Wed, 21 Oct 2037 07:28:00 GMT", datetime(2037, 10, 21, 7, 28, tzinfo=UTC)),
        ("Wed, 21 Oct 2037 10:28:00 +0300", datetime(2037, 10, 21, 7, 28, tzinfo=UTC)),
        ("Wed, 21 Oct 2037 07:28:00 -0000", datetime(2037, 10, 21, 7, 28, tzinfo=UTC)),
        ("tomorrow", None),
        ("", None),
        (None, None),
    ],
)
def test_an_rfc_822_date_is_read_as_an_aware_datetime(value, moment):
    assert parse_http_date(value) == moment


def test_an_answer_summary_keeps_the_json_body_or_an_excerpt_of_the_text():
    json_answer = Answer(200, {}, {"success": True}, '{"success": true}')
    html_answer = Answer(502, {}, None, "<html>" + "x" * 600)

    assert json_answer.summary() == {"status_code": 200, "body": {"success": True}}
    assert html_answer.summary() == {"status_code": 502, "text": ("<html>" + "x" * 600)[:500]}


def test_retry_after_in_seconds_counts_from_now():
    before = datetime.now(UTC)

    moment = Answer(429, {"Retry-After": "30"}, None, "").retry_after()

    assert before + timedelta(seconds=30) <= moment <= datetime.now(UTC) + timedelta(seconds=30)


def test_an_unbuildable_request_is_a_configuration_error_without_the_url(leadconverter):
    leadconverter.url = f"https://:{LEADCONVERTER_TOKEN}"

    with pytest.raises(ProviderConfigurationError) as raised:
        leadconverter.send([message(1, "5", body="Hi")])

    assert reason_text(str(raised.value)) == (
        "LeadConverter: the request could not be built (InvalidURL); check the provider's URL "
        "settings"
    )
    # requests' own exception quotes the URL: it must not ride along as the context.
    assert raised.value.__suppress_context__


def test_the_shared_session_keeps_no_cookies(http):
    http.get("https://provider.test/", headers={"Set-Cookie": "PHPSESSID=abc; Path=/"})

    shared_session().get("https://provider.test/")

    assert len(shared_session().cookies) == 0


def test_a_connection_that_never_opened_reads_in_the_readers_language(imshop, http):
    http.post(IMSHOP_URL, body=transport_error("connect_timeout", IMSHOP_URL))

    reads = stored_reads(imshop.send([message(1, "u1", title="T", body="B")]))

    assert reads == {
        "en": "connect_timeout: push.imshop.test did not accept a connection in time; "
        "nothing was sent.",
        "ru": "connect_timeout: push.imshop.test не принял соединение вовремя; "
        "ничего не отправлено.",
    }
