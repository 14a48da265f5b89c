"""Fixtures for API tests: keys, clients that send them, staff sessions, providers configured."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.test import APIClient

from notifications.api.keys import integration_key_create

IMSHOP_URL = "https://imshop.test/push"

_usernames = (f"staff-{number}" for number in itertools.count(1))


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


def staff_with(*codenames: str):
    """A new staff user with these permissions and no other: codenames of the notifications
    app, or `app_label.codename` for another app's."""
    user = get_user_model().objects.create_user(next(_usernames), is_staff=True)
    wanted = {name if "." in name else f"notifications.{name}" for name in codenames}
    granted = [
        permission
        for permission in Permission.objects.select_related("content_type")
        if f"{permission.content_type.app_label}.{permission.codename}" in wanted
    ]
    assert len(granted) == len(wanted), wanted
    user.user_permissions.add(*granted)
    return user


def session_of(user) -> APIClient:
    """A client logged in as this user, as the browsable API or the admin's pages would be."""
    client = APIClient()
    client.force_login(user)
    return client
