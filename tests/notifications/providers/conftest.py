"""Fixtures for the provider tests: settings with recognisable secrets, mocked HTTP, messages."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import responses
from django.utils import translation
from requests import exceptions
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from notifications.providers.bitrix24.tokens import MemoryTokenStore, Tokens
from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import get_provider
from notifications.providers.values import Content, OutboundMessage
from notifications.reasons import reason_text
from notifications.sending.breaker import last_error

FIXTURES = Path(__file__).parent / "fixtures"

# Every secret is distinctive, so a test can search any text for it.
IMSHOP_URL = "https://push.imshop.test/api/push"
IMSHOP_KEY = "imshop-key-s3cr3t-1111"
LEADCONVERTER_API = "https://leadconverter.test/api/v1"
LEADCONVERTER_TOKEN = "lc-token-s3cr3t/2222"
LEADCONVERTER_URL = f"{LEADCONVERTER_API}/lc-token-s3cr3t%2F2222/broadcasting.sendMessageBatch"
YANDEX_API = "https://api.market.test"
YANDEX_KEY = "ym-key-s3cr3t-3333"
YANDEX_BUSINESS = "777"
YANDEX_URL = f"{YANDEX_API}/v2/businesses/777/chats/message"
BITRIX_PORTAL = "https://portal.bitrix24.test"
BITRIX_PUSH_URL = f"{BITRIX_PORTAL}/rest/pull.application.push.add.json"
BITRIX_BATCH_URL = f"{BITRIX_PORTAL}/rest/batch.json"
BITRIX_OAUTH = "https://oauth.bitrix.test"
BITRIX_TOKEN_URL = f"{BITRIX_OAUTH}/oauth/token/"
BITRIX_CLIENT_ID = "local.app.42"
BITRIX_SECRET = "b24-client-s3cr3t-4444"
BITRIX_ACCESS = "b24-access-s3cr3t-5555"
BITRIX_REFRESH = "b24-refresh-s3cr3t-6666"
BITRIX_NEW_ACCESS = "b24-access-s3cr3t-7777"
BITRIX_NEW_REFRESH = "b24-refresh-s3cr3t-8888"

SECRETS = (
    IMSHOP_KEY,
    LEADCONVERTER_TOKEN,
    "lc-token-s3cr3t%2F2222",
    YANDEX_KEY,
    BITRIX_SECRET,
    BITRIX_ACCESS,
    BITRIX_REFRESH,
    BITRIX_NEW_ACCESS,
    BITRIX_NEW_REFRESH,
)


def fixture(name: str) -> Any:
    """A JSON fixture: the vendor documents' own examples."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def message(delivery_id: int, address: str, **content: str) -> OutboundMessage:
    return OutboundMessage(delivery_id=delivery_id, address=address, content=Content(**content))


@contextmanager
def raises_saying(pattern: str) -> Iterator[Any]:
    """Expects a ProviderConfigurationError whose text, read as a stored reason in the active
    language, matches `pattern` (a send's error is stored, so it is a reason until read)."""
    with pytest.raises(ProviderConfigurationError) as raised:
        yield raised
    assert re.search(pattern, reason_text(str(raised.value))), reason_text(str(raised.value))


def stored_reads(outcome: Any) -> dict[str, str]:
    """The error the send path stores for an outcome's first failure (its code, a colon, its
    message), as an English and a Russian reader see it."""
    stored = last_error(outcome)
    return {language: read_in(language, stored) for language in ("en", "ru")}


def read_in(language: str, stored: str) -> str:
    """A stored text as a reader whose request is in `language` sees it."""
    with translation.override(language):
        return reason_text(stored)


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


@pytest.fixture
def http():
    """Mocked HTTP: every registered answer must be used, and nothing else may be called."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def provider_settings(settings):
    """Every provider configured, with the secrets above and short timeouts."""
    settings.IMSHOP_PUSH_URL = IMSHOP_URL
    settings.IMSHOP_API_KEY = IMSHOP_KEY
    settings.LEADCONVERTER_API_URL = LEADCONVERTER_API
    settings.LEADCONVERTER_TOKEN = LEADCONVERTER_TOKEN
    settings.YANDEX_MARKET_API_URL = YANDEX_API
    settings.YANDEX_MARKET_API_KEY = YANDEX_KEY
    settings.YANDEX_MARKET_BUSINESS_ID = YANDEX_BUSINESS
    settings.BITRIX24_PORTAL_URL = BITRIX_PORTAL
    settings.BITRIX24_CLIENT_ID = BITRIX_CLIENT_ID
    settings.BITRIX24_CLIENT_SECRET = BITRIX_SECRET
    settings.BITRIX24_OAUTH_URL = BITRIX_OAUTH
    settings.PROVIDER_CONNECT_TIMEOUT = 2
    settings.PROVIDER_READ_TIMEOUT = 7
    return settings


@pytest.fixture
def imshop(provider_settings):
    return get_provider("imshop")


@pytest.fixture
def leadconverter(provider_settings):
    return get_provider("leadconverter")


@pytest.fixture
def yandex(provider_settings):
    return get_provider("yandex_market")


@pytest.fixture
def token_store():
    return MemoryTokenStore(Tokens(BITRIX_ACCESS, BITRIX_REFRESH))


@pytest.fixture
def bitrix(provider_settings, token_store):
    return get_provider("bitrix24", token_store=token_store)


def transport_error(kind: str, url: str) -> Exception:
    """A requests exception shaped as requests raises it, its text carrying the full URL."""
    pool = f"HTTPSConnectionPool(host='provider', port=443): Max retries exceeded with url: {url}"
    if kind == "connect_timeout":
        return exceptions.ConnectTimeout(f"{pool} (connect timeout=2)")
    if kind == "connection_refused":
        refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")
        return exceptions.ConnectionError(MaxRetryError(None, url, refused))
    if kind == "dns_failure":
        unknown = NameResolutionError("provider", None, OSError("Name or service not known"))
        return exceptions.ConnectionError(MaxRetryError(None, url, unknown))
    if kind == "tls_failure":
        return exceptions.SSLError(f"{pool} (Caused by SSLError('certificate verify failed'))")
    if kind == "read_timeout":
        return exceptions.ReadTimeout(f"{pool} Read timed out. (read timeout=7)")
    if kind == "connection_reset":
        reset = ConnectionResetError(104, f"Connection reset by peer on {url}")
        return exceptions.ConnectionError(ProtocolError("Connection aborted.", reset))
    if kind == "remote_disconnected":
        return exceptions.ConnectionError(
            ProtocolError("Connection aborted.", OSError("Remote end closed connection"))
        )
    if kind == "broken_answer":
        return exceptions.ChunkedEncodingError(f"Connection broken: IncompleteRead on {url}")
    raise AssertionError(kind)


# Failures before the request left (retry) and after it may have arrived (unknown).
NEVER_SENT = [
    ("connect_timeout", "connect_timeout"),
    ("connection_refused", "connect_error"),
    ("dns_failure", "connect_error"),
    ("tls_failure", "connect_error"),
]
MAYBE_SENT = [
    ("read_timeout", "read_timeout"),
    ("connection_reset", "connection_lost"),
    ("remote_disconnected", "connection_lost"),
    ("broken_answer", "connection_lost"),
]
