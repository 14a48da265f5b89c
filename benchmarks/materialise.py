"""Materialisation: an audience of N recipients into N deliveries, as the worker does it.

`campaign_materialise` (the service a worker runs as the materialise task) runs in a child
process of its own, so its peak resident memory is that process's alone. Two audience sizes
show whether memory stays flat. The ceiling is a bare `INSERT INTO ... SELECT` of as many rows
of the same columns into a plain table (no indexes, no constraints) in the same database.

The extra column also gives the schema's own bound: the same bare statement into the real
deliveries table (its five indexes, its two foreign keys checked row by row) for another
campaign. The gap between that and the service is ours; the gap between it and the ceiling
is the price of the table's indexes and constraints.

A last row materialises the smaller audience again for a campaign whose send window is closed
now (one minute a day, twelve hours away), so every pending delivery waits for its opening
and is spread at the provider's pace in the same INSERT; its time is compared with the same
audience's without a window (target: 1.3 times).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks import seed
from benchmarks.common import (
    POSTGRESQL,
    Row,
    ScratchDatabase,
    backends,
    connect,
    format_table,
    machine,
    scratch_database,
)

FULL_SIZES = (100_000, 1_000_000)
SMOKE_SIZES = (300, 1_000)
TARGET_ROWS_PER_S = 50_000
TARGET_PEAK_MB = 300
HELD_TARGET = 1.3

CHILD = """
import django, json, time
django.setup()
from notifications.campaigns.materialise import campaign_materialise
started = time.perf_counter()
counts = campaign_materialise(campaign_id={campaign_id})
print(json.dumps({{"seconds": time.perf_counter() - started, "counts": counts}}))
"""


COLUMNS = "campaign_id, recipient_id, address, status, error, attempts, created_at, updated_at"


def bare_insert_seconds(
    database: ScratchDatabase, table: str, campaign_id: int, rows: int
) -> float:
    """One `INSERT INTO table ... SELECT` of `rows` delivery-shaped rows from the recipients."""
    stamp = seed.now(database)
    with connect(database) as conn:
        started = time.perf_counter()
        conn.execute(
            f"INSERT INTO {table} ({COLUMNS}) SELECT {int(campaign_id)}, id, "
            f"CAST(100000 + id AS varchar(255)), 'pending', '', 0, {stamp}, {stamp} "
            f"FROM notifications_recipient WHERE id <= {int(rows)}"
        )
        conn.commit()
        return time.perf_counter() - started


def ceiling_seconds(database: ScratchDatabase, rows: int) -> float:
    """The ceiling: a plain table of the same columns, no index, no constraint."""
    timestamp = "timestamptz" if database.backend == POSTGRESQL else "datetime"
    database.sql(
        [
            "DROP TABLE IF EXISTS bench_plain",
            "CREATE TABLE bench_plain (campaign_id bigint, recipient_id bigint, "
            "address varchar(255), status varchar(16), error text, attempts smallint, "
            f"created_at {timestamp}, updated_at {timestamp})",
        ]
    )
    seconds = bare_insert_seconds(database, "bench_plain", 1, rows)
    database.sql("DROP TABLE bench_plain")
    return seconds


def measure(database: ScratchDatabase, sizes: tuple[int, ...]) -> list[Row]:
    seed.recipients(database, max(sizes))
    specs = {f"materialise-{n}": {"channel": seed.CHANNEL, "status": "running"} for n in sizes}
    specs.update({f"bound-{n}": {"channel": seed.CHANNEL, "status": "draft"} for n in sizes})
    held = min(sizes)
    specs["held"] = {"channel": seed.CHANNEL, "status": "running"}
    ids = seed.campaigns(database, specs)
    for size in sizes:
        seed.members(database, ids["audiences"][f"materialise-{size}"], size)
    seed.members(database, ids["audiences"]["held"], held)
    rows = []
    times = {}
    for size in sizes:
        campaign_id = ids["campaigns"][f"materialise-{size}"]
        seconds, child = _materialise(database, campaign_id, size)
        times[size] = seconds
        ceiling = ceiling_seconds(database, size)
        bound = bare_insert_seconds(
            database, "notifications_delivery", ids["campaigns"][f"bound-{size}"], size
        )
        rate = size / seconds
        met = None
        if database.backend == POSTGRESQL and size == max(FULL_SIZES):
            met = rate >= TARGET_ROWS_PER_S and child.peak_mb < TARGET_PEAK_MB
        rows.append(
            Row(
                benchmark="materialise",
                case=f"{size:,} recipients",
                backend=database.backend,
                value=rate,
                unit="rows/s",
                ceiling=size / ceiling,
                target=f"≥ {TARGET_ROWS_PER_S:,}/s on PostgreSQL, peak < {TARGET_PEAK_MB} MB",
                met=met,
                extra=f"{seconds:.1f} s, peak {child.peak_mb:.0f} MB; "
                f"bare INSERT into the deliveries table {size / bound:,.0f} rows/s",
            )
        )
    rows.append(_held_row(database, ids["campaigns"]["held"], held, times[held]))
    return rows


def _materialise(database: ScratchDatabase, campaign_id: int, size: int) -> tuple[float, Any]:
    """Seconds `campaign_materialise` took in a child process, and the child."""
    child = database.python("-c", CHILD.format(campaign_id=campaign_id))
    report = json.loads(child.stdout.strip().splitlines()[-1])
    made = sum(report["counts"].values())
    if made != size:
        raise RuntimeError(f"{size:,} members became {made:,} deliveries")
    return report["seconds"], child


def _held_row(database: ScratchDatabase, campaign_id: int, size: int, without: float) -> Row:
    """The audience of `size` materialised with every delivery held by a closed window."""
    opens = (datetime.now(UTC).hour + 12) % 24
    database.sql(
        "UPDATE notifications_campaign SET window_on = (1 = 1), "
        f"window_start = '{opens:02}:00:00', window_end = '{opens:02}:01:00' "
        f"WHERE id = {int(campaign_id)}"
    )
    seconds, child = _materialise(database, campaign_id, size)
    with connect(database) as conn:
        due_now = conn.execute(
            "SELECT COUNT(*) FROM notifications_delivery WHERE campaign_id = "
            f"{int(campaign_id)} AND status = 'pending' AND next_attempt_at IS NULL"
        ).fetchone()[0]
    if due_now:
        raise RuntimeError(f"{due_now:,} deliveries were not held by the closed window")
    times = seconds / without
    return Row(
        benchmark="materialise",
        case=f"{size:,} recipients, all held by a send window",
        backend=database.backend,
        value=size / seconds,
        unit="rows/s",
        ratio=times,
        target=f"<= {HELD_TARGET}x the time without",
        met=times <= HELD_TARGET,
        extra=f"{seconds:.1f} s, peak {child.peak_mb:.0f} MB; {times:.2f}x the time without",
    )


def run(*, smoke: bool) -> list[Row]:
    """Both audience sizes on every backend."""
    sizes = SMOKE_SIZES if smoke else FULL_SIZES
    rows = []
    for backend in backends():
        with scratch_database(backend, label="materialise") as database:
            rows.extend(measure(database, sizes))
    return rows


if __name__ == "__main__":
    print(f"# Materialisation, {machine()}")
    print(format_table(run(smoke="--smoke" in sys.argv)))
