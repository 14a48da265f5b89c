"""Fixtures for the emulator tests: an emulator per test, our settings pointed at it, messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from emulator import Credentials, Emulator
from notifications.providers.values import Content, OutboundMessage

# Obvious fakes: the emulator checks exactly these.
CREDENTIALS = Credentials(
    imshop_api_key="test-imshop-key",
    leadconverter_token="test-lc-token",
    yandex_market_api_key="test-ym-key",
    yandex_market_business_id="777",
    bitrix24_client_id="local.test.1",
    bitrix24_client_secret="test-b24-secret",
)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with the test credentials; every one is stopped after the test."""
    started: list[Emulator] = []

    def make(**options) -> Emulator:
        emulator = Emulator(credentials=CREDENTIALS, **options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator) -> Emulator:
    return make_emulator()


@pytest.fixture
def pointed(settings) -> Callable[[Emulator], None]:
    """Point our provider settings at an emulator, with short timeouts."""

    def point(emulator: Emulator) -> None:
        for name, value in emulator.settings().items():
            setattr(settings, name, value)
        settings.PROVIDER_CONNECT_TIMEOUT = 2
        settings.PROVIDER_READ_TIMEOUT = 5

    return point


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def message(delivery_id: int, address: str, **content: str) -> OutboundMessage:
    return OutboundMessage(delivery_id=delivery_id, address=address, content=Content(**content))


def provider_stats(emulator: Emulator, provider: str) -> dict:
    return emulator.stats()["providers"][provider]
