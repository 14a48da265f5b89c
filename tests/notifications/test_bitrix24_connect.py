"""Connecting the Bitrix24 app: the admin's OAuth flow and the command for servers."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.management import CommandError, call_command
from django.urls import reverse

from notifications.models import Bitrix24Token
from notifications.providers.bitrix24.tokens import DatabaseTokenStore

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://oauth.bitrix.test/oauth/token/"


@pytest.fixture(autouse=True)
def bitrix24(settings):
    settings.BITRIX24_PORTAL_URL = "https://acme.bitrix24.test"
    settings.BITRIX24_CLIENT_ID = "app.123"
    settings.BITRIX24_CLIENT_SECRET = "client-secret-value"
    settings.BITRIX24_OAUTH_URL = "https://oauth.bitrix.test"


def tokens_answer(access: str, refresh: str) -> dict:
    return {"access_token": access, "refresh_token": refresh, "expires_in": 3600}


@responses.activate
def test_the_command_trades_a_refresh_token_and_stores_the_new_pair(capsys):
    responses.get(TOKEN_URL, json=tokens_answer("access-1", "refresh-2"))
    call_command("bitrix24_connect", "--refresh-token", "refresh-1")
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query["grant_type"] == ["refresh_token"]
    assert query["refresh_token"] == ["refresh-1"]
    stored = DatabaseTokenStore("acme.bitrix24.test").get()
    assert (stored.access_token, stored.refresh_token) == ("access-1", "refresh-2")
    out = capsys.readouterr().out
    assert "acme.bitrix24.test is connected" in out
    assert "refresh-2" not in out
    assert "access-1" not in out


@responses.activate
def test_the_command_says_when_bitrix24_refuses_the_token():
    responses.get(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(CommandError, match="invalid_grant"):
        call_command("bitrix24_connect", "--refresh-token", "stale")
    assert not Bitrix24Token.objects.exists()


def test_connect_sends_the_person_to_the_portal_with_a_state(admin_client):
    response = admin_client.post(reverse("admin:notifications_bitrix24token_connect"))
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "acme.bitrix24.test",
        "/oauth/authorize/",
    )
    query = parse_qs(target.query)
    assert query["client_id"] == ["app.123"]
    assert query["state"] == [admin_client.session["vestnik_bitrix24_oauth_state"]]


@responses.activate
def test_the_callback_exchanges_the_code_and_the_page_never_shows_a_token(admin_client):
    responses.get(TOKEN_URL, json=tokens_answer("access-secret", "refresh-secret"))
    admin_client.post(reverse("admin:notifications_bitrix24token_connect"))
    state = admin_client.session["vestnik_bitrix24_oauth_state"]
    callback = reverse("admin:notifications_bitrix24token_callback")
    response = admin_client.get(callback, {"code": "c0de", "state": state}, follow=True)
    html = response.content.decode()
    assert "Bitrix24 portal acme.bitrix24.test is connected." in html
    assert "access-secret" not in html
    assert "refresh-secret" not in html
    assert parse_qs(urlsplit(responses.calls[0].request.url).query)["code"] == ["c0de"]
    assert Bitrix24Token.objects.get().refresh_token == "refresh-secret"
    listing = admin_client.get(reverse("admin:notifications_bitrix24token_changelist"))
    assert "refresh-secret" not in listing.content.decode()


def test_a_callback_without_our_state_is_refused(admin_client):
    callback = reverse("admin:notifications_bitrix24token_callback")
    response = admin_client.get(callback, {"code": "c0de", "state": "forged"}, follow=True)
    assert "does not match a connection we started" in response.content.decode()
    assert not Bitrix24Token.objects.exists()


def test_the_page_says_which_setting_is_missing(admin_client, settings):
    settings.BITRIX24_CLIENT_SECRET = ""
    page = admin_client.get(reverse("admin:notifications_bitrix24token_connect"))
    assert "BITRIX24_CLIENT_SECRET is not set" in page.content.decode()
