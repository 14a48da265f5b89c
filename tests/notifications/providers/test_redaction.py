"""Secrets out of text, JSON values and urllib3's log lines."""

import logging

from notifications.providers import http as provider_http
from notifications.providers.redaction import Redactor
from tests.notifications.providers.conftest import LEADCONVERTER_TOKEN, message


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
