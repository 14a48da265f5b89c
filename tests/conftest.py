"""Fixtures shared by the whole suite."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import translation


@pytest.fixture
def postgres_only(db):
    """Skip, with the reason, where the test database is not PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... to run it")


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in English: a request in Russian (LocaleMiddleware activates the
    language on the thread and leaves it there) would make the next test's sentences Russian."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache: the database rolls back and SQLite reuses ids, so a
    value cached for one test's campaign 1 would answer for the next test's campaign 1."""
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_limiter_state():
    """The database rolls back after each test; the limiter's Redis state must be cleared too.

    Otherwise a hold from one test's 429 would starve the next one's requests.
    """
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter("vestnik:ratelimit:*"):
            client.delete(key)
