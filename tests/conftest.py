"""Fixtures shared by the whole suite, and which tests the PostgreSQL pass runs."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import translation

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")

# What gives a test the run's database; Redis is set only with it (CI's PostgreSQL pass).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


def reaches_the_database(item: pytest.Item) -> bool:
    """Whether the test can touch the run's database or Redis, so its result may differ by backend.

    A test without database access cannot use them in the test process, and the tests that start
    processes either give them a scratch SQLite file or say so with the `real_database` mark.
    """
    return bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))) or any(
        item.get_closest_marker(name) for name in ("django_db", "postgres", "real_database")
    )


@pytest.hookimpl(trylast=True)  # after tests/browser/conftest.py has marked its journeys
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """CI runs the suite on SQLite, then on PostgreSQL with Redis. The second pass runs only the
    tests that reach the database or Redis: the rest (pure functions, parsers, the provider
    emulator, page behaviour in the browser, processes on scratch SQLite files) would repeat
    their SQLite result and cost CI minutes."""
    if not ON_POSTGRES:
        return
    skip = pytest.mark.skip(
        reason="reaches neither the database nor Redis: the SQLite pass runs it"
    )
    for item in items:
        if not reaches_the_database(item):
            item.add_marker(skip)


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
