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


def bulk_update(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    where: str = "",
    params: Sequence[Any] = (),
) -> list[int]:
    """Set `columns` per row, matched by primary key (each row's first value); return the ids.

    `where` adds a condition on the table's own columns (quoted names, %s parameters), so a row
    that no longer qualifies (for example, its claim passed to another worker) is left alone
    and its id is not returned. PostgreSQL gets the rows as one typed array per column
    (`unnest`), a dozen parameters however many rows: parsing thousands of parameters cost
    more than the update. Elsewhere `WITH v AS (VALUES ...) UPDATE ... FROM v` (SQLite 3.35+).
    """
    if not rows:
        return []
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    names = ["vestnik_pk", *(f"v_{name}" for name in columns)]
    assignments = ", ".join(f"{quote(c)} = v.{n}" for c, n in zip(columns, names[1:], strict=True))
    condition = f" AND ({where})" if where else ""
    tail = f"WHERE {table}.{pk} = v.vestnik_pk{condition} RETURNING {table}.{pk}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            fields = [model._meta.pk, *(model._meta.get_field(name) for name in columns)]
            arrays = ", ".join(f"CAST(%s AS {_array_type(f)})" for f in fields)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM unnest({arrays}) "  # noqa: S608
                f"AS v ({', '.join(names)}) {tail}",
                [*(list(column) for column in zip(*rows, strict=True)), *params],
            )
            return [pk_value for (pk_value,) in cursor.fetchall()]
        row_sql = "(" + ", ".join(["%s"] * len(names)) + ")"
        max_params = connection.features.max_query_params or 65_535
        batch = max(1, min(VALUES_BATCH_ROWS, (max_params - len(params)) // len(names)))
        updated: list[int] = []
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            cursor.execute(
                f"WITH v ({', '.join(names)}) AS (VALUES {', '.join([row_sql] * len(part))}) "  # noqa: S608
                f"UPDATE {table} SET {assignments} FROM v {tail}",
                [*(value for row in part for value in row), *params],
            )
            updated.extend(pk_value for (pk_value,) in cursor.fetchall())
        return updated


def _array_type(field) -> str:
    # varchar(16)[] and the like: the column's own type, as an array.
    return f"{field.db_type(connection)}[]"


def bulk_insert(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows that cannot conflict (history such as delivery events)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_list = ", ".join(map(quote, columns))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            _insert_values(cursor, table, column_list, len(columns), rows, "")
