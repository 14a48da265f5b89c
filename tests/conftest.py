"""Fixtures shared by the whole suite."""

import pytest
from django.db import connection


@pytest.fixture
def postgres_only(db):
    """Skip, with the reason, where the test database is not PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... to run it")
