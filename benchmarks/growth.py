"""Growth: do the pages staff open stay as fast when the tables hold ten times the rows?

One running campaign of 200,000 deliveries (the one whose page and stats are opened) and 100
finished ones beside it; the finished ones hold the rest of the deliveries table: 1,000,000
deliveries in all, then 10,000,000 (each finished campaign grows from 8,000 to 98,000), with
about two events per delivery (its outcome and, for a sent one, the SMS callback). The opened
campaign is the same at both sizes, so any growth in its times is the tables' size showing
through. At each size the campaign list, the running campaign's page (the desk) and
`GET /api/campaigns/{id}/stats/` are requested through Django's test client, as admin_api does
(median of several, queries of one); the target is the time at 1,000,000 times 1.5.

Full sizes run on PostgreSQL only: SQLite has no way to build 30 million rows here in
minutes. The rows are made by SQL (`seed.history`, put in by `seed.fill`).
"""

from __future__ import annotations

import sys
from dataclasses import replace

from benchmarks import seed
from benchmarks.admin_api import CEILING, PASSWORD, page_said, pages_measure
from benchmarks.common import (
    POSTGRESQL,
    SQLITE,
    Row,
    ScratchDatabase,
    bench_database_url,
    connect,
    format_table,
    machine,
    scratch_database,
)

NAME = "growth"
FINISHED_CAMPAIGNS = 100
TARGET = 1.5
# (deliveries of the opened campaign, of each finished one at the first and second size)
FULL = {"opened": 200_000, "finished": (8_000, 98_000), "repeats": 7}
SMOKE = {"opened": 200, "finished": (8, 98), "repeats": 2}


def run(*, smoke: bool) -> list[Row]:
    """The three pages at both sizes: PostgreSQL at full sizes, either database at smoke ones."""
    if not smoke and not bench_database_url():
        return [Row.failure(NAME, "full sizes need PostgreSQL: set BENCH_DATABASE_URL")]
    backend = SQLITE if smoke and not bench_database_url() else POSTGRESQL
    sizes = SMOKE if smoke else FULL
    with scratch_database(backend, label="growth") as database:
        return measure(database, sizes, smoke=smoke)


def measure(database: ScratchDatabase, sizes: dict, *, smoke: bool) -> list[Row]:
    opened_size = sizes["opened"]
    specs = {"opened": {"channel": seed.CHANNEL, "status": "running"}}
    specs |= {
        f"finished-{n}": {"channel": seed.CHANNEL, "status": "completed"}
        for n in range(FINISHED_CAMPAIGNS)
    }
    seed.recipients(database, max(opened_size, *sizes["finished"]))
    ids = seed.campaigns(database, specs, admin_password=PASSWORD)
    opened = ids["campaigns"]["opened"]
    finished = [pk for name, pk in ids["campaigns"].items() if name != "opened"]
    # The opened campaign started an hour ago; finished ones on days 1 to 100 before today.
    database.sql(
        [
            "UPDATE notifications_campaign SET "
            f"started_at = {seed.shifted(database, 'now', '-3600')}"
            f", materialised_at = {seed.now(database)} WHERE id = {opened}",
            "UPDATE notifications_campaign SET "
            f"started_at = {seed.shifted(database, 'now', '-86400 * (id % 100 + 1) - 3600')}, "
            f"finished_at = {seed.shifted(database, 'now', '-86400 * (id % 100 + 1)')}, "
            f"materialised_at = {seed.shifted(database, 'now', '-86400 * (id % 100 + 1)')} "
            f"WHERE id <> {opened}",
        ]
    )
    everyone = [opened, *finished]
    first, second = sizes["finished"]
    seed.fill(database, seed.history(database, [opened], 1, opened_size))
    seed.fill(database, seed.history(database, finished, 1, first) + seed.counters(everyone))
    pages = {
        "campaign list": "/admin/notifications/campaign/",
        "campaign page (desk)": f"/admin/notifications/campaign/{opened}/change/",
        "API campaign stats": f"/api/campaigns/{opened}/stats/",
    }
    small = _deliveries(database)
    before = pages_measure(database, pages, sizes["repeats"])
    seed.fill(
        database, seed.history(database, finished, first + 1, second) + seed.counters(everyone)
    )
    large = _deliveries(database)
    after = pages_measure(database, pages, sizes["repeats"])
    rows = []
    for name in pages:
        was, now = before[name], after[name]
        rows.append(_row(database, f"{name}, {small:,} deliveries", was, before[CEILING]))
        row = _row(database, f"{name}, {large:,} deliveries", now, None)
        times = now["median"] / was["median"]
        rows.append(
            replace(
                row,
                ceiling=was["median"] * 1000,
                ratio=times,
                target=f"<= {TARGET}x its time at {small:,}",
                met=None if smoke else times <= TARGET,
                extra=f"{times:.2f}x its time at {small:,} (the ceiling); {row.extra}",
            )
        )
    return rows


def _row(database: ScratchDatabase, case: str, page: dict, ceiling: dict | None) -> Row:
    extra = page_said(page, f"growth {case}")
    return Row(
        benchmark=NAME,
        case=case,
        backend=database.backend,
        value=page["median"] * 1000,
        unit="ms",
        ceiling=ceiling["median"] * 1000 if ceiling else None,
        extra=extra + ("; ceiling: a plain admin page" if ceiling else ""),
    )


def _deliveries(database: ScratchDatabase) -> int:
    with connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM notifications_delivery").fetchone()[0]


if __name__ == "__main__":
    print(f"# Growth, {machine()}")
    print(format_table(run(smoke="--smoke" in sys.argv)))
