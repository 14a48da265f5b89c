"""Fixtures for API tests: keys, clients that send them, providers configured."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from notifications.services import integration_key_create

IMSHOP_URL = "https://imshop.test/push"


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    # Throttle counts live in the cache; each test starts with a full budget.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def imshop_configured(settings):
    settings.IMSHOP_PUSH_URL = IMSHOP_URL
    settings.IMSHOP_API_KEY = "imshop-key"


def client_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def api(db) -> APIClient:
    """A client with a read-write API key."""
    _, secret = integration_key_create(name="shop")
    return client_with(secret)


@pytest.fixture
def reader(db) -> APIClient:
    """A client with a read-only API key."""
    _, secret = integration_key_create(name="reports", read_only=True)
    return client_with(secret)
