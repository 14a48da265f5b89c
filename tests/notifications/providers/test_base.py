"""The shared part: rates and limits, settings, redaction, headers and the HTTP session."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.providers import http as provider_http
from notifications.providers.exceptions import ProviderConfigurationError, ProviderError
from notifications.providers.http import USER_AGENT, Answer, parse_http_date, shared_session
from notifications.providers.limits import Limits, parse_rate
from notifications.providers.redaction import Redactor
from notifications.providers.registry import get_provider
from tests.notifications.providers.conftest import LEADCONVERTER_TOKEN, message


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("10/m", (10, 60)),
        ("1000/h", (1000, 3600)),
        ("2/s", (2, 1)),
        ("5/s", (5, 1)),
        ("10/min", (10, 60)),
        ("3/day", (3, 86400)),
        (" 7 / H ", (7, 3600)),
    ],
)
def test_a_rate_is_read_like_django_rest_framework_reads_it(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["0/m", "ten/m", "10", "10/w", "-1/s", "", "/m"])
def test_a_rate_that_is_not_a_rate_is_refused(rate):
    with pytest.raises(ValueError, match="is not a rate such as '10/m'"):
        parse_rate(rate)


def test_limits_expose_the_parsed_rate():
    limits = Limits(batch_size=50, rate="2/s", burst=50)

    assert (limits.rate_count, limits.rate_period) == (2, 1)


def test_the_shortest_duration_sends_the_burst_at_once_and_the_rest_at_the_rate():
    assert Limits(batch_size=1000, rate="10/m").min_duration(11) == timedelta(seconds=60)
    assert Limits(batch_size=50, rate="2/s", burst=50).min_duration(150) == timedelta(seconds=50)
    assert Limits(batch_size=50, rate="2/s", burst=50).min_duration(30) == timedelta(0)


@pytest.mark.parametrize(
    ("wrong", "error"),
    [
        ({"batch_size": 0, "rate": "1/s"}, "batch_size and burst must be at least 1"),
        ({"batch_size": 1, "rate": "1/s", "burst": 0}, "batch_size and burst must be at least 1"),
        ({"batch_size": 1, "rate": "1/s", "parallel": 0}, "parallel must be at least 1"),
        ({"batch_size": 1, "rate": "fast"}, "'fast' is not a rate"),
    ],
)
def test_limits_refuse_impossible_values(wrong, error):
    with pytest.raises(ValueError, match=error):
        Limits(**wrong)


def test_the_published_limits_are_the_defaults(provider_settings, token_store):
    declared = {
        channel: get_provider(channel, token_store=token_store).limits
        for channel in ("imshop", "leadconverter", "yandex_market", "bitrix24")
    }

    assert declared == {
        "imshop": Limits(batch_size=1000, rate="10/m"),
        "leadconverter": Limits(batch_size=100, rate="5/s"),
        "yandex_market": Limits(batch_size=1, rate="1000/h", parallel=4, quota_window=3600),
        "bitrix24": Limits(batch_size=50, rate="2/s", burst=50),
    }


def test_every_limit_can_be_overridden_from_settings(provider_settings):
    provider_settings.IMSHOP_RATE = "5/m"
    provider_settings.IMSHOP_BATCH_SIZE = "500"
    provider_settings.IMSHOP_BURST = 3
    provider_settings.IMSHOP_PARALLEL = "1"

    assert get_provider("imshop").limits == Limits(batch_size=500, rate="5/m", burst=3, parallel=1)


def test_an_empty_limit_setting_means_the_default(provider_settings):
    provider_settings.IMSHOP_RATE = ""
    provider_settings.IMSHOP_BURST = ""

    assert get_provider("imshop").limits == Limits(batch_size=1000, rate="10/m")


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        (
            "IMSHOP_RATE",
            "fast",
            "IMSHOP_RATE: 'fast' is not a rate such as '10/m', '1000/h' or '2/s'",
        ),
        ("IMSHOP_BURST", "0", "IMSHOP_BURST must be a whole number of at least 1, not '0'"),
        (
            "IMSHOP_PARALLEL",
            "two",
            "IMSHOP_PARALLEL must be a whole number of at least 1, not 'two'",
        ),
        (
            "IMSHOP_BATCH_SIZE",
            1001,
            "IMSHOP_BATCH_SIZE must be a whole number from 1 to 1000, not 1001",
        ),
        (
            "BITRIX24_BATCH_SIZE",
            51,
            "BITRIX24_BATCH_SIZE must be a whole number from 1 to 50, not 51",
        ),
    ],
)
def test_a_wrong_limit_setting_is_a_configuration_error_naming_it(
    provider_settings, token_store, name, value, error
):
    setattr(provider_settings, name, value)
    channel = "bitrix24" if name.startswith("BITRIX24") else "imshop"

    with pytest.raises(ProviderConfigurationError) as raised:
        get_provider(channel, token_store=token_store)

    assert str(raised.value) == error


def test_the_timeouts_default_to_5_seconds_to_connect_and_30_to_read(provider_settings):
    del provider_settings.PROVIDER_CONNECT_TIMEOUT
    del provider_settings.PROVIDER_READ_TIMEOUT

    assert get_provider("imshop").http.timeout == (5.0, 30.0)


def test_the_timeouts_come_from_settings(provider_settings):
    provider_settings.PROVIDER_CONNECT_TIMEOUT = "1.5"
    provider_settings.PROVIDER_READ_TIMEOUT = 12

    assert get_provider("imshop").http.timeout == (1.5, 12.0)


def test_a_timeout_that_is_not_positive_is_a_configuration_error(provider_settings):
    provider_settings.PROVIDER_READ_TIMEOUT = 0

    with pytest.raises(ProviderConfigurationError, match=r"^PROVIDER_READ_TIMEOUT must be"):
        get_provider("imshop")


def test_a_plain_http_url_is_refused_because_it_would_expose_the_key(provider_settings):
    provider_settings.IMSHOP_PUSH_URL = "http://push.imshop.test/api/push"

    with pytest.raises(ProviderConfigurationError) as raised:
        get_provider("imshop")

    assert str(raised.value) == "IMSHOP_PUSH_URL must be an https:// URL"


def test_plain_http_to_this_machine_is_allowed_for_a_local_mock(provider_settings):
    provider_settings.IMSHOP_PUSH_URL = "http://127.0.0.1:8025/push"

    assert get_provider("imshop").push_url == "http://127.0.0.1:8025/push"


def test_a_configuration_error_is_also_improperly_configured_and_a_provider_error():
    error = ProviderConfigurationError("IMSHOP_API_KEY is not set", status_code=401)

    assert isinstance(error, ImproperlyConfigured)
    assert isinstance(error, ProviderError)
    assert (error.status_code, error.response_text) == (401, "")


def test_the_redactor_removes_a_secret_raw_and_url_encoded():
    redact = Redactor(["a/b c+d"])

    assert redact("x a/b c+d y") == "x [redacted] y"
    assert redact("x a%2Fb%20c%2Bd y") == "x [redacted] y"
    assert redact("x a/b%20c%2Bd y") == "x [redacted] y"
    assert redact("x a%2Fb+c%2Bd y") == "x [redacted] y"


def test_the_redactor_cleans_every_string_of_a_json_value():
    redact = Redactor(["key123"])

    cleaned = redact.value({"error": "bad key123", "list": ["key123", 5, None], "key123": True})

    assert cleaned == {
        "error": "bad [redacted]",
        "list": ["[redacted]", 5, None],
        "[redacted]": True,
    }


def test_the_redactor_ignores_empty_secrets():
    assert Redactor(["", "s"])("sis") == "[redacted]i[redacted]"


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


def test_urllib3_lines_logged_during_a_request_are_scrubbed_with_its_secrets(
    leadconverter, caplog, monkeypatch
):
    caplog.set_level("DEBUG", logger="urllib3.connectionpool")
    path = f"/api/v1/{LEADCONVERTER_TOKEN.replace('/', '%2F')}/broadcasting.sendMessageBatch"

    def send_and_log(request, **kwargs):
        logging.getLogger("urllib3.connectionpool").debug(
            '"%s %s %s" %s', "POST", path, "HTTP/1.1", 200
        )
        raise provider_http.requests.exceptions.ConnectTimeout("no network in this test")

    monkeypatch.setattr(leadconverter.http.session, "send", send_and_log)

    leadconverter.send([message(1, "5", body="Hi")])

    assert caplog.records[0].getMessage() == (
        '"POST /api/v1/[redacted]/broadcasting.sendMessageBatch HTTP/1.1" 200'
    )


def test_urllib3_lines_outside_a_provider_request_are_left_alone(caplog):
    caplog.set_level("DEBUG", logger="urllib3.connectionpool")

    logging.getLogger("urllib3.connectionpool").debug("%s %s", "GET", "/t/s")

    assert caplog.records[-1].getMessage() == "GET /t/s"


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

    assert str(raised.value) == (
        "leadconverter: the request could not be built (InvalidURL); check the provider's URL "
        "settings"
    )
    # requests' own exception quotes the URL: it must not ride along as the context.
    assert raised.value.__suppress_context__


def test_the_shared_session_keeps_no_cookies(http):
    http.get("https://provider.test/", headers={"Set-Cookie": "PHPSESSID=abc; Path=/"})

    shared_session().get("https://provider.test/")

    assert len(shared_session().cookies) == 0
