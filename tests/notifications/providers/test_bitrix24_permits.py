"""Bitrix24's portal counts every request in its leaky bucket, the repeat after a refresh too.

The dispatch engine takes the limiter's permit for the first request of a send; the repeat of a
call refused with `expired_token` must take its own permit, after the token refresh (the OAuth
server is another host, which the portal's bucket does not count).
"""

import pytest

from notifications.providers.exceptions import NoPermit
from notifications.providers.values import ResultStatus
from tests.notifications.providers.conftest import (
    BITRIX_PUSH_URL,
    BITRIX_TOKEN_URL,
    fixture,
    message,
)

EXPIRED = {"error": "expired_token", "error_description": "The access token provided has expired."}
PUSH = [message(1, "1", body="Hello"), message(2, "2", body="Hello")]


def test_the_repeat_after_a_token_refresh_waits_for_a_permit_first(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=fixture("bitrix24_token.json"))
    http.post(BITRIX_PUSH_URL, json={"result": True})
    calls_made_at_permit: list[list[str]] = []

    def permit() -> None:
        calls_made_at_permit.append([call.request.method for call in http.calls])

    outcome = bitrix.send(PUSH, permit=permit)

    assert calls_made_at_permit == [["POST", "GET"]]
    assert {result.status for result in outcome.results} == {ResultStatus.SENT}


def test_without_a_permit_for_the_repeat_nothing_more_is_sent(bitrix, http):
    http.post(BITRIX_PUSH_URL, status=401, json=EXPIRED)
    http.get(BITRIX_TOKEN_URL, json=fixture("bitrix24_token.json"))

    def no_permit() -> None:
        raise NoPermit("no room")

    with pytest.raises(NoPermit):
        bitrix.send(PUSH, permit=no_permit)

    assert len(http.calls) == 2


def test_a_call_answered_at_once_asks_for_no_further_permit(bitrix, http):
    http.post(BITRIX_PUSH_URL, json={"result": True})
    permits = []

    bitrix.send(PUSH, permit=lambda: permits.append(1))

    assert permits == []
