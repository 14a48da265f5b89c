"""An answer meaning "no such endpoint or method here" is a configuration error for every vendor.

Such an answer is the same for every request of a campaign (the URL is wrong), so failing the
messages would burn the whole audience: the campaign must pause with a sentence instead.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Warning

from notifications.checks import bitrix24_portal_url_check
from notifications.providers.registry import get_provider, provider_status
from notifications.providers.values import ResultStatus
from tests.notifications.providers.conftest import (
    BITRIX_BATCH_URL,
    BITRIX_PUSH_URL,
    IMSHOP_URL,
    LEADCONVERTER_URL,
    YANDEX_URL,
    message,
    raises_saying,
)

NGINX_404 = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>"


def test_a_bitrix24_404_page_is_a_configuration_error_naming_the_portal_setting(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=404, body=NGINX_404)

    with raises_saying("check BITRIX24_PORTAL_URL") as error:
        bitrix.send([message(1, "1", body="Hi")])

    assert error.value.status_code == 404


def test_bitrix24_method_not_found_names_the_portal_setting(bitrix, http):
    http.post(
        BITRIX_BATCH_URL,
        status=404,
        json={"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
    )

    with raises_saying(r"ERROR_METHOD_NOT_FOUND.*PORTAL_URL"):
        bitrix.send([message(1, "1", body="Hi"), message(2, "2", body="Hello")])


def test_a_leadconverter_404_is_a_configuration_error_naming_url_and_token(leadconverter, http):
    http.post(LEADCONVERTER_URL, status=404, json={"error": "Method not found"})

    with raises_saying("check LEADCONVERTER_API_URL"):
        leadconverter.send([message(1, "10", body="Hi")])


def test_an_imshop_405_is_a_configuration_error(imshop, http):
    http.post(IMSHOP_URL, status=405, body="Method Not Allowed")

    with raises_saying("check IMSHOP_PUSH_URL"):
        imshop.send([message(1, "42", title="T", body="B")])


def test_a_yandex_market_405_names_the_api_url_not_the_key(yandex, http):
    http.post(
        YANDEX_URL,
        status=405,
        json={"status": "ERROR", "errors": [{"code": "METHOD_NOT_ALLOWED", "message": "POST"}]},
    )

    with raises_saying("no such method at YANDEX_MARKET_API_URL"):
        yandex.send([message(1, "12345", body="Hi")])


def test_a_yandex_market_404_still_fails_only_the_message_whose_chat_is_gone(yandex, http):
    http.post(
        YANDEX_URL,
        status=404,
        json={"status": "ERROR", "errors": [{"code": "NOT_FOUND", "message": "Chat not found"}]},
    )

    outcome = yandex.send([message(1, "12345", body="Hi")])

    assert outcome.results[0].status == ResultStatus.FAILED


URL_SETTING_NAMED = {
    "imshop": "check IMSHOP_PUSH_URL",
    "leadconverter": "check LEADCONVERTER_API_URL",
    "yandex_market": "no such method at YANDEX_MARKET_API_URL",
    "bitrix24": "check BITRIX24_PORTAL_URL",
}
SENDS = {
    "imshop": (IMSHOP_URL, message(1, "42", title="T", body="B")),
    "leadconverter": (LEADCONVERTER_URL, message(1, "10", body="Hi")),
    "yandex_market": (YANDEX_URL, message(1, "12345", body="Hi")),
    "bitrix24": (BITRIX_PUSH_URL, message(1, "1", body="Hi")),
}


# Yandex Market's 404 is left out: it says the chat is gone (tested above).
NOT_THE_API_ANSWERS = [
    (channel, status)
    for channel in SENDS
    for status in (301, 302, 307, 404, 405)
    if (channel, status) != ("yandex_market", 404)
]


@pytest.mark.parametrize(("channel", "status"), NOT_THE_API_ANSWERS)
def test_every_provider_reads_a_redirect_or_no_such_method_as_its_url_setting_to_check(
    provider_settings, token_store, http, channel, status
):
    url, sent = SENDS[channel]
    http.post(url, status=status, headers={"Location": "https://elsewhere.test/"})

    with raises_saying(URL_SETTING_NAMED[channel]):
        get_provider(channel, token_store=token_store).send([sent])


# --- A portal URL with a path is refused, by the provider and by `manage.py check` ------------


@pytest.mark.parametrize(
    "url",
    [
        "https://corp.example.test/bitrix",
        "https://portal.bitrix24.test/rest/1/webhook-s3cr3t/",
        "https://portal.bitrix24.test/?lang=ru",
    ],
)
def test_a_portal_url_with_a_path_is_refused_without_echoing_it(provider_settings, url):
    provider_settings.BITRIX24_PORTAL_URL = url

    configured, reason = provider_status("bitrix24")
    [problem] = bitrix24_portal_url_check()

    assert configured is False
    assert reason.startswith("BITRIX24_PORTAL_URL must be the portal's address without a path")
    assert isinstance(problem, Warning)
    assert problem.id == "notifications.W001"
    assert problem.msg == f"{reason}."
    assert "s3cr3t" not in problem.msg + problem.hint
    assert "corp" not in problem.msg


@pytest.mark.parametrize("url", ["https://portal.bitrix24.test/", "portal.bitrix24.test"])
def test_a_portal_host_with_or_without_a_slash_passes_the_check(provider_settings, url):
    provider_settings.BITRIX24_PORTAL_URL = url

    assert bitrix24_portal_url_check() == []
    assert provider_status("bitrix24") == (True, "")


def test_no_portal_url_is_not_a_check_error(settings):
    settings.BITRIX24_PORTAL_URL = ""

    assert bitrix24_portal_url_check() == []


def _manage_py(*args: str, portal_url: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "check-only",
        "BITRIX24_PORTAL_URL": portal_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_manage_py_check_refuses_a_portal_url_with_a_path_with_a_sentence():
    done = _manage_py(
        "check", "--fail-level", "WARNING", portal_url="https://corp.example.test/bitrix/"
    )

    assert done.returncode != 0
    assert "(notifications.W001) BITRIX24_PORTAL_URL must be the portal's address" in done.stderr


def test_a_bad_portal_url_warns_but_stops_no_worker_or_migration():
    # Commands that run the checks (qcluster, migrate) must still start: other channels work.
    done = _manage_py("check", portal_url="https://corp.example.test/bitrix/")

    assert done.returncode == 0, done.stderr
    assert "notifications.W001" in done.stderr + done.stdout


def test_a_portal_url_that_is_not_a_url_is_refused_with_a_sentence(provider_settings):
    provider_settings.BITRIX24_PORTAL_URL = "https://[portal"

    [problem] = bitrix24_portal_url_check()

    assert problem.msg == "BITRIX24_PORTAL_URL is not a valid URL."
    assert provider_status("bitrix24") == (False, "BITRIX24_PORTAL_URL is not a valid URL")


def test_a_provider_built_for_a_portal_with_a_path_refuses(provider_settings, token_store):
    provider_settings.BITRIX24_PORTAL_URL = "https://corp.example.test/bitrix/"

    with raises_saying("without a path"):
        get_provider("bitrix24", token_store=token_store)
