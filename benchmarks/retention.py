"""The retention purge: how fast a finished campaign's rows go, and how long any lock is held.

A campaign that finished 200 days ago (the settings keep 180) with 1,000,000 deliveries and
about two events each (`seed.history`), and beside it a running campaign whose pending
deliveries a sender works through the whole time: the worker's send loop (`campaign_send`)
against the provider emulator, limits off. The purge child calls `retention_purge` as the tick
does, again and again until it finds nothing to do, and times every statement, every
transaction of `rows_remove` (`_rows_remove_step`: its locks are held until it commits) and the
summary's (the campaign's counts, made once, before the first row goes).

Rows: rows removed per second over the whole purge (summary included); the longest statement
and the longest transaction (target: under a second, the issue's bound); the sender's rate
and longest statement meanwhile are in the extra column. There is no ceiling: a single
`DELETE` of the whole campaign is exactly what retention must not do.

Child roles (`python -m benchmarks.retention ROLE ...`) do the work in their own processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.common import (
    BENCH_SECRET_KEY,
    Row,
    ScratchDatabase,
    format_table,
    machine,
    scratch_database,
)
from benchmarks.dispatch import Emulator, start_child, start_together, wait_for_go

NAME = "retention"
FULL = {"purged": 1_000_000, "sending": 1_000_000}
SMOKE = {"purged": 500, "sending": 300}
KEEP_DAYS = 180
LOCK_TARGET_SECONDS = 1.0


def run(*, smoke: bool) -> list[Row]:
    """The purge beside a sender on the preferred database (PostgreSQL when configured)."""
    sizes = SMOKE if smoke else FULL
    with Emulator() as emulator, scratch_database(label="retention") as database:
        return measure(database, emulator, sizes, smoke=smoke)


def measure(
    database: ScratchDatabase, emulator: Emulator, sizes: dict[str, int], *, smoke: bool
) -> list[Row]:
    purged, sending = sizes["purged"], sizes["sending"]
    seed.recipients(database, max(purged, sending))
    specs = {
        "finished": {"channel": seed.CHANNEL, "status": "completed"},
        "sending": {"channel": seed.CHANNEL, "status": "running"},
    }
    ids = seed.campaigns(database, specs)
    finished, sender = ids["campaigns"]["finished"], ids["campaigns"]["sending"]
    stamp = seed.now(database)
    database.sql(
        [
            "UPDATE notifications_campaign SET "
            f"started_at = {seed.shifted(database, 'now', '-86400 * 201')}, "
            f"finished_at = {seed.shifted(database, 'now', '-86400 * 200')}, "
            f"materialised_at = {seed.shifted(database, 'now', '-86400 * 201')} "
            f"WHERE id = {finished}",
            f"UPDATE notifications_campaign SET started_at = {stamp}, materialised_at = {stamp} "
            f"WHERE id = {sender}",
        ]
    )
    seed.fill(database, seed.history(database, [finished], 1, purged))
    database.sql(
        [
            "INSERT INTO notifications_delivery (campaign_id, recipient_id, address, status, "
            "attempts, error, created_at, updated_at) "
            f"SELECT {sender}, recipient_id, value, 'pending', 0, '', {stamp}, {stamp} "
            f"FROM notifications_address WHERE recipient_id <= {sending} ORDER BY recipient_id",
            *seed.counters([finished, sender]),
        ]
    )
    seed.analyse(database)
    events = _count(
        database, f"SELECT COUNT(*) FROM notifications_deliveryevent WHERE campaign_id = {finished}"
    )
    env = database.env(
        **emulator.settings,
        VESTNIK_RATE_LIMITS_ENABLED="False",
        REDIS_URL="",
        LOG_LEVEL="ERROR",
        DELIVERIES_KEEP_DAYS=str(KEEP_DAYS),
        EVENTS_KEEP_DAYS=str(KEEP_DAYS),
    )
    stop = database.directory / "purged"
    purge, send = start_together(
        [
            _start(env, "purge", "--stop", str(stop)),
            _start(env, "send", "--campaign", str(sender), "--stop", str(stop)),
        ]
    )
    removed = purge["removed"].get("deliveries", 0) + purge["removed"].get("campaign_events", 0)
    if removed != purged + events:
        raise RuntimeError(f"removed {purge['removed']}, expected {purged:,} + {events:,}")
    seconds = purge["finished"] - purge["started"]
    case = f"{purged:,} deliveries and {events:,} events, beside a sender"
    sending_seconds = send["finished"] - send["started"]
    sender_text = (
        f"sender meanwhile {send['sent'] / sending_seconds:,.0f} deliveries/s"
        + (f" (ran out of work after {sending_seconds:.0f} s)" if send["ran_out"] else "")
        + f", its longest statement {send['longest'] * 1000:.0f} ms"
    )
    longest = max(purge["longest_statement"], purge["longest_transaction"])
    return [
        Row(
            benchmark=NAME,
            case=f"purge of {case}",
            backend=database.backend,
            value=removed / seconds,
            unit="rows/s",
            extra=f"{seconds:.1f} s, the summary {purge['summary']:.1f} s of it; "
            f"{purge['transactions']} batch transactions; {sender_text}; "
            f"load {os.getloadavg()[0]:.1f}",
        ),
        Row(
            benchmark=NAME,
            case=f"longest lock held by the purge of {case}",
            backend=database.backend,
            value=longest * 1000,
            unit="ms",
            target=f"< {LOCK_TARGET_SECONDS * 1000:,.0f} ms",
            met=None if smoke else longest < LOCK_TARGET_SECONDS,
            extra=f"longest statement {purge['longest_statement'] * 1000:.0f} ms "
            f"({purge['longest_sql']}), longest batch transaction "
            f"{purge['longest_transaction'] * 1000:.0f} ms (median "
            f"{purge['median_transaction'] * 1000:.0f} ms), median statement "
            f"{purge['median_statement'] * 1000:.0f} ms; the summary's transaction "
            f"{purge['summary'] * 1000:.0f} ms locks the campaign's row only",
        ),
    ]


def _count(database: ScratchDatabase, sql: str) -> int:
    from benchmarks.common import connect

    with connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


def _start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return start_child(env, *args, module="benchmarks.retention")


# --- Children ---------------------------------------------------------------------------------


def _role_purge(args: argparse.Namespace) -> dict[str, Any]:
    """`retention_purge` until nothing is left, every statement and transaction timed; then
    the stop file for the sender."""
    from django.db import connection
    from django.utils import timezone

    from notifications import retention

    statements: list[tuple[float, str]] = []
    transactions: list[float] = []
    summaries: list[float] = []

    def timed_statement(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - started, sql))

    def timed(function, times: list[float]):
        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times.append(time.perf_counter() - started)

        return call

    # The purge's own steps, wrapped to time their transactions: both are module globals
    # looked up at each call.
    retention._rows_remove_step = timed(retention._rows_remove_step, transactions)
    retention._summarise_next = timed(retention._summarise_next, summaries)
    removed: dict[str, int] = {}
    wait_for_go()
    started = time.time()
    try:
        with connection.execute_wrapper(timed_statement):
            while True:
                done = retention.retention_purge(now=timezone.now())
                for kind, count in done.items():
                    removed[kind] = removed.get(kind, 0) + count
                if not any(done.values()):
                    break
    finally:
        Path(args.stop).touch()
    finished = time.time()
    writes = [
        (s, sql) for s, sql in statements if sql.lstrip().upper().startswith(("DELETE", "UPDATE"))
    ]
    seconds, sql = max(writes)
    return {
        "started": started,
        "finished": finished,
        "removed": removed,
        "transactions": len(transactions),
        "longest_statement": seconds,
        "longest_sql": " ".join(sql.split())[:60],
        "median_statement": statistics.median(s for s, _ in writes),
        "longest_transaction": max(transactions),
        "median_transaction": statistics.median(transactions),
        # The first call summarised the campaign; the later ones found none to summarise.
        "summary": max(summaries),
    }


def _role_send(args: argparse.Namespace) -> dict[str, Any]:
    """The worker's send loop on the running campaign until the purge is over; its statements
    timed (a wait for the purge's locks would show there)."""
    from django.db import connection

    from notifications.models import Campaign
    from notifications.providers.registry import build_provider
    from notifications.sending.loop import campaign_send

    campaign = Campaign.objects.get(pk=args.campaign)
    provider = build_provider(campaign.channel)
    longest = 0.0

    def timed_statement(execute, sql, params, many, context):
        nonlocal longest
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            longest = max(longest, time.perf_counter() - started)

    stop = Path(args.stop)
    sent = 0
    wait_for_go()
    started = time.time()
    ran_out = False
    with connection.execute_wrapper(timed_statement):
        while not stop.exists() and not ran_out:
            report = campaign_send(campaign_id=campaign.pk, provider=provider, budget_seconds=1)
            sent += report.outcomes.get("sent", 0)
            ran_out = report.stopped_because != "the time budget is spent"
    return {
        "started": started,
        "finished": time.time(),
        "sent": sent,
        "longest": longest,
        "ran_out": ran_out,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("purge").add_argument("--stop", required=True)
    send = roles.add_parser("send")
    send.add_argument("--campaign", type=int, required=True)
    send.add_argument("--stop", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    import django

    django.setup()
    result = globals()[f"_role_{args.role}"](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("purge", "send"):
        main()
    else:
        print(f"# Retention, {machine()}")
        print(format_table(run(smoke="--smoke" in sys.argv)))
