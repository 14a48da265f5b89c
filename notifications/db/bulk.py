"""Writing many rows at once: the one home of the project's hand-written bulk SQL.

Upserts for imports, inserts for materialising deliveries and their history, updates for the
send loop's results, and model instances for the webhook inbox (`bulk_insert_objects`, which
says which rows an `ON CONFLICT DO NOTHING` really inserted).

Django's `bulk_create` compiles SQL value by value and, on SQLite, splits a batch into many
statements; at hundreds of thousands of rows that, not the database, is most of the time. Here
PostgreSQL gets COPY (into the table, or into a temporary table and one `INSERT ... SELECT ...
ON CONFLICT`) or one JSON document per batch, and other databases get multi-row
`INSERT ... VALUES ... ON CONFLICT` (the same syntax on SQLite), batched under the driver's
parameter limit.

Values of `bulk_insert`, `bulk_upsert` and `bulk_update` must already be adapted for the
database: use `db_value`, `db_json` and `db_timestamp`. Callers own the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Model

# Rows per statement: bounded for PostgreSQL, and SQLite's parameter limit lowers it further.
VALUES_BATCH_ROWS = 1000


def db_value(model: type[Model], field: str, value: Any) -> Any:
    """`value` as the database stores it in `model.field` (JSON, for example)."""
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def db_json(value: Any) -> str | None:
    """`value` as JSON text for a JSONField column of `bulk_update` (None stays SQL NULL).

    Text, not the driver's JSON adapter: one array of strings cast once in SQL costs far less
    than adapting every value on its own.
    """
    return None if value is None else json.dumps(value, ensure_ascii=False)


def db_timestamp(moment: datetime) -> Any:
    """A timestamp as the database stores it."""
    return connection.ops.adapt_datetimefield_value(moment)


def sql_plus_seconds(timestamp: str, seconds: str) -> str:
    """SQL for the timestamp expression `timestamp` plus `seconds` (a numeric SQL expression),
    in the form the database stores timestamps."""
    if connection.vendor == "postgresql":
        return f"({timestamp} + ({seconds}) * INTERVAL '1 second')"
    # Day numbers, not a '+N seconds' modifier: SQLite writes small reals as '1.0e-05', which
    # no modifier reads. Milliseconds are kept, as far as a spread needs.
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', julianday({timestamp}) + ({seconds}) / 86400.0)"


def bulk_upsert(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
) -> int:
    """Insert `rows`; where `conflict` columns clash, update `update` columns or do nothing.

    Returns how many rows were inserted or updated (with nothing to update, how many were new).
    """
    if not rows:
        return 0
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
            return _copy_then_insert(cursor, table, column_list, rows, on_conflict)
        written: list[int] = []
        _insert_values(cursor, table, column_list, len(columns), rows, on_conflict, written)
        return sum(written)


def _copy_then_insert(cursor, table: str, column_list: str, rows, on_conflict: str) -> int:
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
    written = cursor.rowcount
    cursor.execute(f"DROP TABLE {staging}")
    return written


def _insert_values(
    cursor,
    table: str,
    column_list: str,
    width: int,
    rows,
    tail: str,
    written: list[int] | None = None,
) -> list[tuple]:
    """Multi-row INSERT ... VALUES in batches under the parameter limit; the rows `tail` (an
    ON CONFLICT and RETURNING clause, say) returns. Each batch's count of rows written is
    appended to `written` when given."""
    placeholders = "(" + ", ".join(["%s"] * width) + ")"
    max_params = connection.features.max_query_params or 65_535
    batch = max(1, min(VALUES_BATCH_ROWS, max_params // width))
    returned: list[tuple] = []
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) VALUES "  # noqa: S608 - quoted names
            f"{', '.join([placeholders] * len(part))} {tail}",
            [value for row in part for value in row],
        )
        if cursor.description:
            returned.extend(cursor.fetchall())
        if written is not None:
            written.append(cursor.rowcount)
    return returned


def bulk_update(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    where: str = "",
    params: Sequence[Any] = (),
    same: dict[str, Any] | None = None,
) -> list[int]:
    """Set `columns` per row, matched by primary key (each row's first value); return the ids.

    `same` sets further columns to one value on every row (sent once, not once per row).

    `where` adds a condition on the table's own columns (quoted names, %s parameters), so a row
    that no longer qualifies (for example, its claim passed to another worker) is left alone
    and its id is not returned. PostgreSQL gets the rows as one typed array per column
    (`unnest`), a dozen parameters however many rows: parsing thousands of parameters cost
    more than the update. Elsewhere `WITH v AS (VALUES ...) UPDATE ... FROM v` (SQLite 3.35+).
    JSONField columns take JSON text (`db_json`).
    """
    if not rows:
        return []
    columns, rows, same = _factor_out_same(columns, rows, same or {})
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    names = ["vestnik_pk", *(f"v_{name}" for name in columns)]
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in columns)]
    assignments = ", ".join(
        [
            *(
                f"{quote(c)} = {_from_text(f, 'v.' + n)}"
                for c, n, f in zip(columns, names[1:], fields[1:], strict=True)
            ),
            *(f"{quote(c)} = {_from_text(model._meta.get_field(c), '%s')}" for c in same),
        ]
    )
    same_params = list(same.values())
    condition = f" AND ({where})" if where else ""
    match = f"WHERE {table}.{pk} = v.vestnik_pk{condition}"
    returning = f"RETURNING {table}.{pk}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns_sent = [list(column) for column in zip(*rows, strict=True)]
            arrays = ", ".join(f"CAST(%s AS {_array_type(f)})" for f in fields)
            # Joined by a hash of the values, never a nested loop: a `where` such as a claim's
            # token looks to the planner like a row or two, and it then compared every row with
            # every value (1,000 results: 190 ms, against 16 ms hashed). The ids themselves
            # narrow the rows by key when nothing else does.
            with transaction.atomic(savepoint=False):
                cursor.execute("SET LOCAL enable_nestloop = off")
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM unnest({arrays}) "  # noqa: S608
                    f"AS v ({', '.join(names)}) {match} AND {table}.{pk} = ANY(%s) {returning}",
                    [*same_params, *columns_sent, *params, columns_sent[0]],
                )
                updated = [pk_value for (pk_value,) in cursor.fetchall()]
                cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
            return updated
        row_sql = "(" + ", ".join(["%s"] * len(names)) + ")"
        max_params = connection.features.max_query_params or 65_535
        spare = max_params - len(params) - len(same_params)
        batch = max(1, min(VALUES_BATCH_ROWS, spare // len(names)))
        updated: list[int] = []
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            cursor.execute(
                f"WITH v ({', '.join(names)}) AS (VALUES {', '.join([row_sql] * len(part))}) "  # noqa: S608
                f"UPDATE {table} SET {assignments} FROM v {match} {returning}",
                [*(value for row in part for value in row), *same_params, *params],
            )
            updated.extend(pk_value for (pk_value,) in cursor.fetchall())
        return updated


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows: Sequence[Sequence[Any]]) -> str | None:
    """Rows of plain values (text, numbers, timestamps, None) in COPY's text format, or None
    when some value needs the driver's adaptation. Building the text at once costs a fraction
    of adapting value by value."""
    lines = []
    for row in rows:
        cells = []
        for value in row:
            if value is None:
                cells.append("\\N")
            elif isinstance(value, str):
                cells.append(value.translate(_COPY_ESCAPES))
            elif isinstance(value, bool):
                cells.append("t" if value else "f")
            elif isinstance(value, int | float):
                cells.append(str(value))
            elif isinstance(value, datetime) and value.tzinfo is not None:
                cells.append(value.isoformat())
            else:
                return None
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _factor_out_same(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], same: dict[str, Any]
) -> tuple[list[str], list[Sequence[Any]], dict[str, Any]]:
    """Move every column whose value is the same on all rows into `same`: one parameter
    instead of an array (a batch of sent messages shares its status, time and answer)."""
    first = rows[0]
    shared = [
        index
        for index in range(1, len(first))
        if len(rows) > 1
        and all(
            type(row[index]) is type(first[index]) and row[index] == first[index] for row in rows
        )
    ]
    if not shared:
        return list(columns), list(rows), same
    same = {**same, **{columns[index - 1]: first[index] for index in shared}}
    keep = [index for index in range(len(first)) if index not in shared]
    return (
        [columns[index - 1] for index in keep[1:]],
        [tuple(row[index] for index in keep) for row in rows],
        same,
    )


def _is_json(field) -> bool:
    return field.get_internal_type() == "JSONField"


def _from_text(field, name: str) -> str:
    if _is_json(field) and connection.vendor == "postgresql":
        return f"CAST({name} AS jsonb)"
    return name


def _array_type(field) -> str:
    # varchar(16)[] and the like: the column's own type, as an array; JSON travels as text.
    return "text[]" if _is_json(field) else f"{field.db_type(connection)}[]"


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
                text = _copy_text(rows)
                if text is not None:
                    copy.write(text)
                else:
                    for row in rows:
                        copy.write_row(row)
        else:
            _insert_values(cursor, table, column_list, len(columns), rows, "")


def bulk_insert_objects(
    model: type[Model],
    objects: Sequence[Model],
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert model instances (all columns but the primary key) in few statements.

    With `conflict` (field names), rows that clash on them are skipped (`ON CONFLICT DO
    NOTHING`); with `returning` (field names), the values of those fields are returned for each
    row actually inserted. Django's `bulk_create(ignore_conflicts=True)` cannot say which rows
    it inserted.

    Values come from the model's own fields, so a column added with a default needs no change
    here. PostgreSQL gets each batch as one JSON document turned into rows of the table's own
    type (`json_populate_recordset`): adapting a parameter per value, or a typed array per
    column, cost more than the insert itself.
    """
    if not objects:
        return []
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    tail = ""
    if conflict:
        columns_named = [quote(meta.get_field(name).column) for name in conflict]
        # The predicate lets a partial unique index (WHERE column IS NOT NULL) be the arbiter,
        # as well as a whole one, on PostgreSQL and SQLite alike; it filters no row.
        present = " AND ".join(f"{column} IS NOT NULL" for column in columns_named)
        tail = f"ON CONFLICT ({', '.join(columns_named)}) WHERE {present} DO NOTHING"
    if returning:
        names = ", ".join(quote(meta.get_field(name).column) for name in returning)
        tail = f"{tail} RETURNING {names}".lstrip()
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            rows = [
                [
                    field.get_db_prep_save(field.pre_save(obj, add=True), connection)
                    for field in fields
                ]
                for obj in objects
            ]
            return _insert_values(cursor, table, columns, len(fields), rows, tail)
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 - quoted names
            f"FROM json_populate_recordset(NULL::{table}, %s) {tail}"
        )
        returned: list[tuple] = []
        for start in range(0, len(objects), VALUES_BATCH_ROWS):
            part = objects[start : start + VALUES_BATCH_ROWS]
            document = [
                {field.column: field.pre_save(obj, add=True) for field in fields} for obj in part
            ]
            cursor.execute(sql, [json.dumps(document, default=_json_default)])
            if cursor.description:
                returned.extend(cursor.fetchall())
        return returned


def _json_default(value: object) -> str:
    # Full precision, unlike DjangoJSONEncoder, which cuts timestamps to milliseconds.
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
