"""Planner statistics are refreshed for tables that grew past what PostgreSQL last saw."""

import pytest
from django.db import connection

from notifications.db.statistics import statistics_refresh
from notifications.models import Address, AudienceMember, Recipient

pytestmark = pytest.mark.django_db(transaction=True)


def reltuples(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


def test_a_table_that_grew_after_its_last_analysis_is_analysed_again(postgres_only):
    with connection.cursor() as cursor:
        # Rows earlier tests rolled back leave pages behind, which the analysis would count as
        # the table's size: start from none (the test's transaction undoes it).
        cursor.execute(f"TRUNCATE {Recipient._meta.db_table} CASCADE")
        cursor.execute(f"ANALYZE {Recipient._meta.db_table}")
    assert reltuples(Recipient) == 0
    Recipient.objects.bulk_create(Recipient(external_id=f"s-{i}") for i in range(3_000))
    assert Recipient._meta.db_table in statistics_refresh([Recipient])
    assert reltuples(Recipient) == 3_000
    # Once analysed, nothing to do until it changes again.
    assert statistics_refresh([Recipient]) == []


def test_elsewhere_there_is_nothing_to_refresh():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's own case is above")
    assert statistics_refresh([Recipient, Address, AudienceMember]) == []
