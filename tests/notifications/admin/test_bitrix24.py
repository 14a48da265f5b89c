"""Connecting the Bitrix24 app from the admin: the OAuth flow, which never shows a token."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.urls import reverse

from notifications.models import Bitrix24Token
from tests.support.bitrix24_app import TOKEN_URL, tokens_answer, use_bitrix24_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def bitrix24(settings):
    use_bitrix24_app(settings)


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
