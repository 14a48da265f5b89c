"""Writing many rows at once: upserts for imports, inserts for materialising deliveries.

Django's `bulk_create` compiles SQL value by value and, on SQLite, splits a batch into many
statements; at hundreds of thousands of rows that, not the database, is most of the time. Here
PostgreSQL gets COPY into a temporary table and one `INSERT ... SELECT ... ON CONFLICT`, and
other databases get multi-row `INSERT ... VALUES ... ON CONFLICT` (the same syntax on SQLite).

Values must already be adapted for the database: use `db_value` for JSON and `db_now` for
timestamps. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model

VALUES_BATCH_ROWS = 1000


def db_value(model: type[Model], field: str, value: Any) -> Any:
    """`value` as the database stores it in `model.field` (JSON, for example)."""
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def db_timestamp(moment: datetime) -> Any:
    """A timestamp as the database stores it."""
    return connection.ops.adapt_datetimefield_value(moment)


def bulk_upsert(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert `rows`; where `conflict` columns clash, update `update` columns or do nothing."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_list = ", ".join(map(quote, columns))
    action = (
        "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
        if update
        else "DO NOTHING"
    )
    on_conflict = f"ON CONFLICT ({', '.join(map(quote, conflict))}) {action}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy_then_insert(cursor, table, column_list, rows, on_conflict)
        else:
            _insert_values(cursor, table, column_list, len(columns), rows, on_conflict)


def _copy_then_insert(cursor, table: str, column_list: str, rows, on_conflict: str) -> None:
    staging = "vestnik_bulk_staging"
    # A staging table with exactly the target's column types and no constraints.
    cursor.execute(f"DROP TABLE IF EXISTS {staging}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608 - quoted names
        f"SELECT {column_list} FROM {table} WITH NO DATA"
    )
    with cursor.cursor.copy(f"COPY {staging} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} {on_conflict}"  # noqa: S608
    )
    cursor.execute(f"DROP TABLE {staging}")


def _insert_values(
    cursor, table: str, column_list: str, width: int, rows, on_conflict: str
) -> None:
    placeholders = "(" + ", ".join(["%s"] * width) + ")"
    max_params = connection.features.max_query_params or 65_535
    batch = max(1, min(VALUES_BATCH_ROWS, max_params // width))
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) VALUES "  # noqa: S608 - quoted names
            f"{', '.join([placeholders] * len(part))} {on_conflict}",
            [value for row in part for value in row],
        )
