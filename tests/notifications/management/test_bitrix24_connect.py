"""Connecting the Bitrix24 app from a server: the bitrix24_connect command."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.management import CommandError, call_command

from notifications.models import Bitrix24Token
from notifications.providers.bitrix24.tokens import DatabaseTokenStore
from tests.support.bitrix24_app import TOKEN_URL, tokens_answer, use_bitrix24_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def bitrix24(settings):
    use_bitrix24_app(settings)


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
