"""Dispatch throughput: a whole campaign, end to end, against the provider emulator.

For each provider, with limits off: N recipients, one campaign, timed from the start of
materialisation until every delivery is final, with 1 and 2 send processes (each runs the send
loop the worker task runs, `campaign_send`, on the same campaign). Two ceilings in the same
run, from as many processes: the SQL ceiling (`_sql_loop`), a bare connection running the
fewest statements our guarantees need on the same tables, with the send loop's batch sizes and
the same requests to the same emulator, which the row's ratio is against; and the no-database
ceiling, the same provider client sending the same requests (same batches, same rendered texts)
with no database at all. The emulator runs in a process of its own and counts what it
accepted, so each row also says whether anything was lost or sent twice.

With the sending rules on (`WINDOW_PROVIDERS`): the same campaign with quiet hours and frequency
caps on, its recipients in five zones (one of them none, the site's), every one inside the window
and under every cap, so the rows measure what checking costs (materialisation's zones, the
sender's check of every claim, and at every request's start the recipients' locks and the count
of what each was sent) against the row without them; the target is 1.3 times the time without.
(Without them, a marketing campaign's messages are still counted for the caps to come.)

Child roles (`python -m benchmarks.dispatch ROLE ...`) do the work in their own processes.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import time as dtime
from typing import Any

from .common import (
    BENCH_SECRET_KEY,
    POSTGRESQL,
    ROOT,
    Row,
    ScratchDatabase,
    backends,
    scratch_database,
)

NAME = "dispatch"
# provider -> (template fields, address of recipient i, target deliveries/s on PostgreSQL with 2
# processes, what the target is measured against)
PROVIDERS: dict[str, dict[str, Any]] = {
    "leadconverter": {
        "template": {"body": "Hello {{ first_name }}, your order {{ external_id }} is ready"},
        "target": 5_000,
    },
    "imshop": {
        # Identical text for everyone: 1,000 user ids share one request.
        "template": {"title": "Sale", "body": "Everything -20% until Sunday"},
        "target": 20_000,
    },
    "yandex_market": {
        "template": {"body": "Hello {{ first_name }}, your order is on its way"},
        "target": None,
        # One chat message per request: a tenth of the audience keeps the run short.
        "share": 0.1,
    },
    "bitrix24": {
        "template": {"body": "Hello {{ first_name }}, a task for you"},
        "target": None,
    },
}
WORKERS = (1, 2)
# Recipient i's zone: ZONES[i % 5] ("" is the site's default zone).
ZONES = ("Europe/Moscow", "Asia/Vladivostok", "Asia/Kathmandu", "America/New_York", "")
# Measured again with a send window that is open in every zone (all day but a minute) and caps
# nobody reaches: (limit, period, channel or "" for all).
BENCH_CAPS = ((10, "day", "leadconverter"), (20, "week", ""))
WINDOW_PROVIDERS = ("leadconverter",)
WINDOW_TARGET = 1.3
AUDIENCES = {"everyone": 1.0, "a tenth": 0.1}
RECIPIENTS = 100_000
SMOKE_RECIPIENTS = 300


def run(*, smoke: bool) -> list[Row]:
    """Every provider, 1 and 2 processes, on each configured backend."""
    count = (
        SMOKE_RECIPIENTS
        if smoke
        else int(os.environ.get("BENCH_DISPATCH_RECIPIENTS", 0) or RECIPIENTS)
    )
    providers = ["leadconverter", "imshop"] if smoke else list(PROVIDERS)
    rows: list[Row] = []
    with Emulator() as emulator:
        for backend in backends():
            with scratch_database(backend, label="dispatch") as database:
                env = database.env(
                    **emulator.settings,
                    VESTNIK_RATE_LIMITS_ENABLED="False",
                    REDIS_URL="",
                    LOG_LEVEL="ERROR",
                )
                _child(database, env, "prepare", "--count", str(count))
                for provider in providers:
                    for workers in WORKERS:
                        row = _measure(database, env, emulator, provider, workers, count)
                        rows.append(row)
                        if provider in WINDOW_PROVIDERS:
                            windowed = _measure(
                                database, env, emulator, provider, workers, count, rules=True
                            )
                            rows.append(_against(windowed, row))
    return rows


def _against(windowed: Row, without: Row) -> Row:
    """The row with the rules on, its time as a multiple of the same row's without them."""
    if windowed.error or without.error or not windowed.value or not without.value:
        return windowed
    times = without.value / windowed.value
    return replace(
        windowed,
        ratio=times,
        target=f"<= {WINDOW_TARGET}x the time without",
        met=times <= WINDOW_TARGET,
        extra=f"{windowed.extra}; {times:.2f}x the time without them",
    )


def _measure(
    database: ScratchDatabase,
    env: dict[str, str],
    emulator: Emulator,
    provider: str,
    workers: int,
    count: int,
    *,
    rules: bool = False,
) -> Row:
    count = max(1, int(count * PROVIDERS[provider].get("share", 1.0)))
    case = f"{provider}, {workers} process{'es' if workers > 1 else ''}, {count:,} recipients"
    if rules:
        case += ", send window and frequency caps on"
    try:
        bare = _bare_loop(env, emulator, provider, workers, count)
        sql_ceiling = None if rules else _sql_loop(database, env, emulator, provider, workers)
        flags = ["--rules"] if rules else []
        campaign = _child(database, env, "campaign", "--channel", provider, *flags)["campaign"]
        emulator.reset()
        children = [start_child(env, "materialise", "--campaign", str(campaign))]
        children += [start_child(env, "send", "--campaign", str(campaign)) for _ in range(workers)]
        reports = start_together(children)
        started = min(report["started"] for report in reports)
        finished = max(report["finished"] for report in reports)
        seconds = finished - started
        stats = emulator.stats()["providers"][provider]
        statuses = _child(database, env, "statuses", "--campaign", str(campaign))
    except Exception as error:
        return Row.failure(NAME, error, case=case)
    sent = statuses.get("sent", 0)
    target = PROVIDERS[provider]["target"]
    at_target = database.backend == POSTGRESQL and workers == 2 and target and sql_ceiling
    rate = count / seconds
    problems = []
    if sent != count:
        problems.append(f"sent {sent:,} of {count:,}: {statuses}")
    if stats["duplicates"]:
        problems.append(f"{stats['duplicates']} duplicates")
    peak = max(report["peak_mb"] for report in reports)
    return Row(
        benchmark=NAME,
        case=case,
        backend=database.backend,
        value=rate,
        unit="deliveries/s",
        ceiling=sql_ceiling,
        no_db_ceiling=bare,
        target=f">= {target:,}/s and >= 0.7 of the SQL ceiling" if at_target else "",
        met=(rate >= target and rate >= 0.7 * sql_ceiling) if at_target else None,
        extra="; ".join(
            [
                f"{seconds:.1f} s",
                f"{rate / bare:.3g} of the no-DB ceiling",
                f"{stats['requests']:,} requests",
                f"peak {peak:.0f} MB",
                *problems,
            ]
        ),
    )


# --- The emulator, in a process of its own ------------------------------------------------------


class Emulator:
    """The provider emulator in a child process (limits off unless asked); stats over HTTP."""

    def __init__(self, *, time_scale: float = 1.0, limits: bool = False) -> None:
        self.flags = ["--time-scale", str(time_scale)] + (["--limits"] if limits else [])

    def __enter__(self) -> Emulator:
        from emulator.credentials import Credentials, provider_settings

        self.credentials = Credentials.generate()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.settings = provider_settings(self.url, self.credentials)
        env = {**os.environ, **self.settings, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.dispatch",
                "emulator",
                "--port",
                str(port),
                *self.flags,
            ],
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("the emulator did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def stats(self) -> dict[str, Any]:
        import requests

        return requests.get(f"{self.url}/_emulator/stats", timeout=10).json()

    def messages(self, provider: str) -> list[dict[str, Any]]:
        import requests

        url = f"{self.url}/_emulator/messages"
        return requests.get(url, params={"provider": provider}, timeout=60).json()

    def reset(self) -> None:
        import requests

        requests.post(f"{self.url}/_emulator/reset", timeout=10).raise_for_status()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Children ---------------------------------------------------------------------------------


def _child(database: ScratchDatabase, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = database.python("-m", "benchmarks.dispatch", *args, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_child(
    env: dict[str, str], *args: str, module: str = "benchmarks.dispatch"
) -> subprocess.Popen:
    """A child of `module` (its roles), talking over pipes: `start_together` starts them."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_together(children: list[subprocess.Popen]) -> list[dict[str, Any]]:
    """Wait until every child is ready, start them together, collect their reports."""
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a child did not start: {child.stderr.read()[-500:]}")
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        _, status, usage = os.wait4(child.pid, 0)
        out, err = child.stdout.read(), child.stderr.read()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"a child failed: {' / '.join(err.strip().splitlines()[-3:])}")
        report = json.loads(out.strip().splitlines()[-1])
        report["peak_mb"] = usage.ru_maxrss / 1024
        reports.append(report)
    return reports


def _bare_loop(
    env: dict[str, str], emulator: Emulator, provider: str, workers: int, count: int
) -> float:
    """Deliveries per second of the same requests with no database, from `workers` processes."""
    emulator.reset()
    share = -(-count // workers)
    children = [
        start_child(
            env, "bare", "--channel", provider, "--first", str(i * share), "--count", str(share)
        )
        for i in range(workers)
    ]
    reports = start_together(children)
    seconds = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    return sum(r["messages"] for r in reports) / seconds


def _sql_loop(
    database: ScratchDatabase, env: dict[str, str], emulator: Emulator, provider: str, workers: int
) -> float:
    """Deliveries per second of the SQL ceiling: the fewest statements that keep our guarantees.

    A fresh campaign on the same tables: its pending deliveries in one `INSERT ... SELECT`
    (timed), then `workers` processes that each claim, mark begun, send and record with a bare
    connection (`_role_sqlsend`). Its messages go to the emulator, which must count each once.
    """
    from benchmarks.common import connect
    from benchmarks.seed import now

    campaign = _child(database, env, "campaign", "--channel", provider)["campaign"]
    emulator.reset()
    stamp = now(database)
    with connect(database) as conn:
        started = time.perf_counter()
        inserted = conn.execute(
            "INSERT INTO notifications_delivery (campaign_id, recipient_id, address, status, "
            "error, attempts, created_at, updated_at) "
            f"SELECT ca.campaign_id, m.recipient_id, a.value, 'pending', '', 0, {stamp}, {stamp} "
            "FROM notifications_campaign_audiences ca JOIN notifications_audiencemember m "
            "ON m.audience_id = ca.audience_id JOIN notifications_recipient r "
            "ON r.id = m.recipient_id AND r.opted_out_at IS NULL JOIN notifications_address a "
            f"ON a.recipient_id = m.recipient_id AND a.channel = '{provider}' "
            f"WHERE ca.campaign_id = {int(campaign)}"
        ).rowcount
        conn.commit()
        insert_seconds = time.perf_counter() - started
    children = [
        start_child(env, "sqlsend", "--channel", provider, "--campaign", str(campaign))
        for _ in range(workers)
    ]
    reports = start_together(children)
    send_seconds = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    stats = emulator.stats()["providers"][provider]
    sent = sum(r["sent"] for r in reports)
    if sent != inserted or stats["duplicates"]:
        raise RuntimeError(
            f"SQL ceiling: sent {sent:,} of {inserted:,}, {stats['duplicates']} duplicates"
        )
    return inserted / (insert_seconds + send_seconds)


def wait_for_go() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def _setup_django() -> None:
    import django

    django.setup()


def _role_prepare(args: argparse.Namespace) -> dict[str, Any]:
    """N recipients with an address on every channel, one audience, and Bitrix24 connected."""
    from django.db import connection, transaction

    from notifications.models import Address, Audience, AudienceMember, Recipient
    from notifications.providers.bitrix24.tokens import DatabaseTokenStore, bitrix24_portal

    recipients = Recipient._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # A recursive series: the same SQL on SQLite and PostgreSQL.
        zone = " ".join(f"WHEN {i} THEN %s" for i in range(len(ZONES)))
        cursor.execute(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
            f"INSERT INTO {recipients} (external_id, phone, first_name, last_name, attributes, "
            "timezone, created_at, updated_at) SELECT 'r-' || n, '7999' || n, 'Name' || n, "
            f"'Surname', '{{}}', CASE n %% {len(ZONES)} {zone} END, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP FROM s",
            [args.count, *ZONES],
        )
        for name, share in AUDIENCES.items():
            audience = Audience.objects.create(name=name)
            cursor.execute(
                f"INSERT INTO {AudienceMember._meta.db_table} (added_at, audience_id, "
                f"recipient_id) SELECT CURRENT_TIMESTAMP, %s, id FROM {recipients} "
                "ORDER BY id LIMIT %s",
                [audience.pk, max(1, int(args.count * share))],
            )
        for channel in PROVIDERS:
            cursor.execute(
                f"INSERT INTO {Address._meta.db_table} (channel, value, created_at, "
                f"recipient_id) SELECT %s, CAST(100000 + id AS TEXT), CURRENT_TIMESTAMP, id "
                f"FROM {recipients}",
                [channel],
            )
    DatabaseTokenStore(bitrix24_portal()).save(_bitrix24_tokens())
    return {"recipients": args.count}


def _bitrix24_tokens():
    """A token pair from the emulator's OAuth consent step, as Connect Bitrix24 gets one."""
    from urllib.parse import parse_qs, urlsplit

    import requests
    from django.conf import settings

    from notifications.providers.bitrix24.oauth import exchange_code

    answer = requests.get(
        f"{settings.BITRIX24_PORTAL_URL}/oauth/authorize/",
        params={
            "client_id": settings.BITRIX24_CLIENT_ID,
            "state": "bench",
            "redirect_uri": "http://127.0.0.1/connected",
        },
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    return exchange_code(code)


def _role_campaign(args: argparse.Namespace) -> dict[str, Any]:
    """A new campaign on the channel to everyone, dispatched; earlier runs' deliveries gone."""
    from django.db import connection

    from notifications.campaigns.lifecycle import campaign_dispatch
    from notifications.models import (
        Audience,
        Campaign,
        CountedSend,
        Delivery,
        DeliveryCounter,
        DeliveryEvent,
        FrequencyCap,
        MessageTemplate,
    )

    with connection.cursor() as cursor:
        for model in (CountedSend, DeliveryEvent, DeliveryCounter, Delivery):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Delivery._meta.db_table}")
    fields = PROVIDERS[args.channel]["template"]
    template = MessageTemplate.objects.create(name=f"{args.channel} {time.time()}", **fields)
    window = (
        {"window_on": True, "window_start": dtime(0), "window_end": dtime(23, 59)}
        if args.rules
        else {}
    )
    FrequencyCap.objects.all().delete()
    if args.rules:
        for limit, period, channel in BENCH_CAPS:
            FrequencyCap.objects.create(limit=limit, period=period, channel=channel)
    campaign = Campaign.objects.create(
        name=template.name, channel=args.channel, template=template, **window
    )
    share = 1.0 if args.all else PROVIDERS[args.channel].get("share", 1.0)
    campaign.audiences.set(Audience.objects.filter(name="a tenth" if share < 1 else "everyone"))
    campaign_dispatch(campaign_id=campaign.pk)
    return {"campaign": campaign.pk}


def _role_materialise(args: argparse.Namespace) -> dict[str, Any]:
    from notifications.campaigns.materialise import campaign_materialise

    wait_for_go()
    started = time.time()
    campaign_materialise(campaign_id=args.campaign)
    return {"started": started, "finished": time.time()}


def _role_send(args: argparse.Namespace) -> dict[str, Any]:
    """The worker's send loop on one campaign, once it is materialised, until it completes."""
    from notifications.campaigns.lifecycle import campaign_complete_if_done
    from notifications.models import Campaign
    from notifications.providers.registry import build_provider
    from notifications.reasons import reason_text
    from notifications.sending.loop import campaign_send

    campaign = Campaign.objects.get(pk=args.campaign)
    provider = build_provider(campaign.channel)
    wait_for_go()
    started = time.time()
    # As in production, senders start once the materialisation is complete.
    while campaign.materialised_at is None:
        time.sleep(0.02)
        campaign.refresh_from_db()
    while True:
        report = campaign_send(campaign_id=campaign.pk, provider=provider, budget_seconds=600)
        if report.stopped_because == "nothing is due":
            campaign_complete_if_done(campaign_id=campaign.pk)
            campaign.refresh_from_db()
            if campaign.status != Campaign.Status.RUNNING:
                break
            time.sleep(0.02)
        elif report.stopped_because == "the campaign is not running":
            campaign.refresh_from_db()
            if campaign.status != Campaign.Status.COMPLETED:  # another process completed it
                raise RuntimeError(
                    f"the campaign is {campaign.status}: {reason_text(campaign.pause_reason)}"
                )
            break
        elif report.stopped_because != "the time budget is spent":
            raise RuntimeError(f"the send loop stopped: {report.stopped_because}")
    return {"started": started, "finished": time.time()}


def _role_statuses(args: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Count

    from notifications.models import Delivery

    return dict(
        Delivery.objects.filter(campaign_id=args.campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )


def _role_bare(args: argparse.Namespace) -> dict[str, Any]:
    """The same requests through the same client, rendered up front, with no database."""
    from notifications.content.checks import render_for_channel
    from notifications.content.rendering import compile_template
    from notifications.providers.bitrix24.tokens import MemoryTokenStore
    from notifications.providers.registry import get_provider
    from notifications.providers.values import OutboundMessage

    store = MemoryTokenStore(_bitrix24_tokens()) if args.channel == "bitrix24" else None
    provider = get_provider(args.channel, token_store=store)
    compiled = compile_template(PROVIDERS[args.channel]["template"])
    messages = []
    for i in range(args.first, args.first + args.count):
        n = i + 1
        context = {"external_id": f"r-{n}", "first_name": f"Name{n}", "phone": f"7999{n}"}
        content = render_for_channel(compiled, args.channel, context)
        messages.append(OutboundMessage(n, str(100000 + n), content))
    groups = provider.plan(messages)
    wait_for_go()
    started = time.time()
    sent = 0
    for group in groups:
        outcome = provider.send(group)
        sent += sum(1 for result in outcome.results if result.status == "sent")
    return {"started": started, "finished": time.time(), "messages": sent}


# The SQL ceiling's statements, with the claims' and the results' rules (notifications/sending/
# claims.py and outcomes.py) and nothing else: no counters, no events, no content or response
# kept on the row. `{lock}` is FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL, as our claims.
RUNNING = "EXISTS (SELECT 1 FROM notifications_campaign WHERE id = {p} AND status = 'running')"
SQL_CLAIM = (
    "UPDATE notifications_delivery SET status = 'sending', claim_token = {p}, "
    "lease_expires_at = {p}, request_started_at = NULL, updated_at = {p} WHERE id IN "
    "(SELECT id FROM notifications_delivery WHERE campaign_id = {p} AND status = 'pending' "
    "AND id > {p} AND (next_attempt_at IS NULL OR next_attempt_at <= {p}) ORDER BY id LIMIT {p}"
    "{lock}) AND " + RUNNING + " RETURNING id, recipient_id, address"
)
SQL_BEGIN = (
    "UPDATE notifications_delivery SET request_started_at = {p}, lease_expires_at = {p}, "
    "attempts = attempts + 1, updated_at = {p} WHERE id {ids} AND claim_token = {p} "
    "AND status = 'sending' AND request_started_at IS NULL AND " + RUNNING + " RETURNING id"
)
# The results as one JSON array of [id, status] pairs: the same statement on both databases.
SQL_RECORD = (
    "UPDATE notifications_delivery SET status = r.status, "
    "sent_at = CASE WHEN r.status = 'sent' THEN {p} END, claim_token = NULL, "
    "lease_expires_at = NULL, request_started_at = NULL, updated_at = {p} FROM ({results}) r "
    "WHERE notifications_delivery.id = r.id AND {token} = {p} AND "
    "notifications_delivery.status = 'sending'"
)
RESULTS = {
    POSTGRESQL: "SELECT (e ->> 0)::bigint AS id, e ->> 1 AS status "
    "FROM jsonb_array_elements(CAST({p} AS jsonb)) e",
    "SQLite": "SELECT value ->> 0 AS id, value ->> 1 AS status FROM json_each({p})",
}


class _SqlSender:
    """A bare connection running the ceiling's statements, with the same transactions as ours:
    claims and results commit without waiting for the WAL flush, the begun mark waits."""

    def __init__(self, url: str) -> None:
        self.postgresql = url.startswith("postgres")
        if self.postgresql:
            import psycopg

            self.conn = psycopg.connect(url)
            mark, lock, ids = "%s", " FOR NO KEY UPDATE SKIP LOCKED", "= ANY(%s)"
        else:
            import sqlite3
            from urllib.parse import urlsplit

            self.conn = sqlite3.connect(urlsplit(url).path, timeout=60, isolation_level=None)
            # As our settings open it: WAL (already the file's), commits not waiting for fsync.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            mark, lock, ids = "?", "", "IN (SELECT value FROM json_each(?))"
        backend = POSTGRESQL if self.postgresql else "SQLite"
        self.claim_sql = SQL_CLAIM.format(p=mark, lock=lock)
        self.begin_sql = SQL_BEGIN.format(p=mark, ids=ids)
        # On SQLite the claim's index would drive the join and read the results' JSON again for
        # each row; `+` keeps the index out, so each result finds its row by id.
        token = "claim_token" if self.postgresql else "+claim_token"
        self.record_sql = SQL_RECORD.format(
            p=mark, token=token, results=RESULTS[backend].format(p=mark)
        )

    def _stamp(self, seconds: float = 0.0) -> Any:
        from datetime import UTC, datetime, timedelta

        moment = datetime.now(UTC) + timedelta(seconds=seconds)
        return moment if self.postgresql else moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _run(self, sql: str, params: list, *, flush: bool) -> list[tuple]:
        cursor = self.conn.cursor()
        if self.postgresql:
            if not flush:
                cursor.execute("SET LOCAL synchronous_commit = off")
        else:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
        if self.postgresql:
            self.conn.commit()
        else:
            cursor.execute("COMMIT")
        return rows

    def claim(self, campaign: int, after: int, limit: int, lease: float) -> tuple[Any, list]:
        token = uuid.uuid4()
        value = token if self.postgresql else token.hex
        now = self._stamp()
        params = [value, self._stamp(lease), now, campaign, after, now, limit, campaign]
        return value, sorted(self._run(self.claim_sql, params, flush=False))

    def begin(self, campaign: int, token: Any, ids: list[int], lease: float) -> set[int]:
        now = self._stamp()
        array = ids if self.postgresql else json.dumps(ids)
        params = [now, self._stamp(lease), now, array, token, campaign]
        return {pk for (pk,) in self._run(self.begin_sql, params, flush=True)}

    def record(self, token: Any, results: list[list]) -> None:
        now = self._stamp()
        self._run(self.record_sql, [now, now, json.dumps(results), token], flush=False)


def _role_sqlsend(args: argparse.Namespace) -> dict[str, Any]:
    """The SQL ceiling's sender: our send loop's statements and batch sizes, bare.

    Claims of the loop's size (`MAX_CLAIM` with limits off), then for each planned request its
    rows marked begun, the request, its results in one statement. Texts are rendered before
    the start, as the no-database loop renders them.
    """
    from django.conf import settings

    from notifications.content.checks import render_for_channel
    from notifications.content.rendering import compile_template
    from notifications.providers.bitrix24.tokens import MemoryTokenStore
    from notifications.providers.registry import get_provider
    from notifications.providers.values import OutboundMessage, ResultStatus
    from notifications.sending.claims import begun_lease_seconds
    from notifications.sending.loop import MAX_CLAIM

    store = MemoryTokenStore(_bitrix24_tokens()) if args.channel == "bitrix24" else None
    provider = get_provider(args.channel, token_store=store)
    sender = _SqlSender(os.environ["DATABASE_URL"])
    compiled = compile_template(PROVIDERS[args.channel]["template"])
    cursor = sender.conn.cursor()
    cursor.execute("SELECT id, external_id, first_name, phone FROM notifications_recipient")
    contents = {
        pk: render_for_channel(
            compiled, args.channel, {"external_id": ext, "first_name": name, "phone": phone}
        )
        for pk, ext, name, phone in cursor.fetchall()
    }
    sender.conn.commit()
    lease = settings.VESTNIK_CLAIM_LEASE_SECONDS
    begun_lease = begun_lease_seconds(provider.calls_per_send)
    states = {ResultStatus.SENT: "sent", ResultStatus.FAILED: "failed"}
    wait_for_go()
    started = time.time()
    after = sent = 0
    while True:
        token, claimed = sender.claim(args.campaign, after, MAX_CLAIM, lease)
        if not claimed:
            break
        after = claimed[-1][0]
        messages = [OutboundMessage(pk, address, contents[rid]) for pk, rid, address in claimed]
        for group in provider.plan(messages):
            begun = sender.begin(args.campaign, token, [m.delivery_id for m in group], begun_lease)
            if len(begun) < len(group):
                # Nothing pauses this campaign: a row not begun is a fault of the ceiling's.
                raise RuntimeError(f"{len(group) - len(begun)} rows could not begin")
            results = provider.send(group).results
            pairs = [[r.delivery_id, states.get(r.status, "unknown")] for r in results]
            sender.record(token, pairs)
            sent += sum(1 for r in results if r.status == ResultStatus.SENT)
    return {"started": started, "finished": time.time(), "sent": sent}


def _role_emulator(args: argparse.Namespace) -> None:
    from emulator.credentials import Credentials
    from emulator.server import Emulator as Server

    credentials = Credentials(
        imshop_api_key=os.environ["IMSHOP_API_KEY"],
        leadconverter_token=os.environ["LEADCONVERTER_TOKEN"],
        yandex_market_api_key=os.environ["YANDEX_MARKET_API_KEY"],
        yandex_market_business_id=os.environ["YANDEX_MARKET_BUSINESS_ID"],
        bitrix24_client_id=os.environ["BITRIX24_CLIENT_ID"],
        bitrix24_client_secret=os.environ["BITRIX24_CLIENT_SECRET"],
    )
    Server(
        port=args.port,
        limits=args.limits,
        time_scale=args.time_scale,
        credentials=credentials,
        seed=1,
    ).serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    roles = parser.add_subparsers(dest="role", required=True)
    emulator = roles.add_parser("emulator")
    emulator.add_argument("--port", type=int, required=True)
    emulator.add_argument("--time-scale", type=float, default=1.0)
    emulator.add_argument("--limits", action="store_true")
    roles.add_parser("prepare").add_argument("--count", type=int, required=True)
    campaign = roles.add_parser("campaign")
    campaign.add_argument("--channel", choices=PROVIDERS, required=True)
    campaign.add_argument("--all", action="store_true", help="to everyone, whatever the share")
    campaign.add_argument(
        "--rules", action="store_true", help="with a send window open now and caps not reached"
    )
    for role in ("materialise", "send", "statuses"):
        roles.add_parser(role).add_argument("--campaign", type=int, required=True)
    sqlsend = roles.add_parser("sqlsend")
    sqlsend.add_argument("--channel", choices=PROVIDERS, required=True)
    sqlsend.add_argument("--campaign", type=int, required=True)
    bare = roles.add_parser("bare")
    bare.add_argument("--channel", choices=PROVIDERS, required=True)
    bare.add_argument("--first", type=int, required=True)
    bare.add_argument("--count", type=int, required=True)
    args = parser.parse_args(argv)
    if args.role == "emulator":
        _role_emulator(args)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    _setup_django()
    result = globals()[f"_role_{args.role}"](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
