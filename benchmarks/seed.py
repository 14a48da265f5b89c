"""Fast fixtures for benchmarks: a million rows in seconds, in SQL, not through the ORM.

Recipients, addresses, audience members and deliveries are generated inside the database
(`generate_series` on PostgreSQL, a recursive CTE on SQLite). The few rows with many columns
and defaults (templates, campaigns, users) are made through the ORM in one child process.
Recipient `i` (ids from 1 in a fresh database) has external id `cust-<i>`, a LeadConverter
address unless `i` is a multiple of 20, and has opted out when `i` is a multiple of 50.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from benchmarks.common import POSTGRESQL, ScratchDatabase, connect

CHANNEL = "leadconverter"
NO_ADDRESS_EVERY = 20
OPTED_OUT_EVERY = 50


def series(database: ScratchDatabase, count: int) -> str:
    """A FROM clause that yields integers 1..count as column `i`."""
    if database.backend == POSTGRESQL:
        return f"generate_series(1, {int(count)}) AS s(i)"
    return (
        f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {int(count)}) "
        "SELECT i FROM s) AS s"
    )


def now(database: ScratchDatabase) -> str:
    """The current time as a SQL literal in the form Django stores it on this backend."""
    if database.backend == POSTGRESQL:
        return "now()"
    return f"'{datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f}'"


def _text(database: ScratchDatabase, expression: str) -> str:
    return f"CAST({expression} AS text)" if database.backend == POSTGRESQL else expression


def recipients(database: ScratchDatabase, count: int) -> None:
    """Recipients 1..count with addresses, some opted out, some without an address."""
    stamp = now(database)
    number = _text(database, "i")
    phone = (
        "'7999' || lpad(CAST(i AS text), 7, '0')"
        if database.backend == POSTGRESQL
        else "'7999' || printf('%07d', i)"
    )
    attributes = json.dumps({"city": "Kazan", "tier": "gold"})
    database.sql(
        [
            "INSERT INTO notifications_recipient (external_id, phone, first_name, last_name, "
            "attributes, opted_out_at, created_at, updated_at) "
            f"SELECT 'cust-' || {number}, {phone}, 'Name' || {number}, 'Surname' || {number}, "
            f"'{attributes}', CASE WHEN i % {OPTED_OUT_EVERY} = 0 THEN {stamp} END, "
            f"{stamp}, {stamp} FROM {series(database, count)}",
            "INSERT INTO notifications_address (recipient_id, channel, value, created_at) "
            f"SELECT id, '{CHANNEL}', {_text(database, '100000 + id')}, {stamp} "
            f"FROM notifications_recipient WHERE id % {NO_ADDRESS_EVERY} <> 0",
        ]
    )
    analyse(database)


def members(database: ScratchDatabase, audience_id: int, count: int) -> None:
    """Recipients 1..count join the audience."""
    database.sql(
        "INSERT INTO notifications_audiencemember (audience_id, recipient_id, added_at) "
        f"SELECT {int(audience_id)}, id, {now(database)} FROM notifications_recipient "
        f"WHERE id <= {int(count)}"
    )
    analyse(database)


def analyse(database: ScratchDatabase) -> None:
    """Fresh planner statistics, as autovacuum would have them by the time anyone looks."""
    database.sql("ANALYZE")


def django(database: ScratchDatabase, code: str) -> dict:
    """Run `code` in a Django child process; it must assign a JSON-able `result`."""
    script = "import django, json\ndjango.setup()\n" + code + "\nprint(json.dumps(result))\n"
    child = database.python("-c", script)
    return json.loads(child.stdout.strip().splitlines()[-1])


CAMPAIGNS = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from notifications.models import Audience, Campaign, MessageTemplate

started = timezone.now() - timedelta(days=1)

template = MessageTemplate.objects.create(
    name="bench", body="Hello, {{ first_name }} from {{ city }}!", title="Hi"
)
result = {"template": template.pk, "audiences": {}, "campaigns": {}}
for name, spec in SPECS.items():
    audience = Audience.objects.create(name=name)
    campaign = Campaign.objects.create(
        name=name, channel=spec["channel"], template=template, status=spec["status"],
        sendios_project_id=spec.get("project"), sendios_template_id=spec.get("template"),
        content={"body": template.body, "title": template.title},
        dispatched_at=started if spec["status"] != "draft" else None,
        started_at=started if spec["status"] not in ("draft", "scheduled") else None,
    )
    campaign.audiences.add(audience)
    result["audiences"][name] = audience.pk
    result["campaigns"][name] = campaign.pk
if ADMIN:
    get_user_model().objects.create_superuser("bench", "bench@example.com", ADMIN)
"""


def campaigns(
    database: ScratchDatabase, specs: dict[str, dict], *, admin_password: str = ""
) -> dict:
    """One template; per spec name an audience and a campaign on it (`channel`, `status`,
    optional Sendios `project` and `template`). Returns their ids by name."""
    code = f"SPECS = {specs!r}\nADMIN = {admin_password!r}\n" + CAMPAIGNS
    return django(database, code)


def deliveries(database: ScratchDatabase, campaign_id: int, count: int) -> None:
    """Deliveries of recipients 1..count in a campaign's usual mix of outcomes, their counters
    and history: a `sent` event per sent delivery, and SMS callbacks for every tenth."""
    stamp = now(database)
    status = (
        "CASE WHEN r.opted_out_at IS NOT NULL THEN 'skipped' WHEN r.id % 100 < 3 THEN 'failed' "
        "WHEN r.id % 100 < 5 THEN 'pending' WHEN r.id % 100 < 6 THEN 'unknown' ELSE 'sent' END"
    )
    content = '\'{"text": "Hello!"}\''
    campaign = int(campaign_id)
    database.sql(
        [
            "INSERT INTO notifications_delivery (campaign_id, recipient_id, address, status, "
            "attempts, content, error, sent_at, created_at, updated_at) "
            f"SELECT {campaign}, r.id, {_text(database, '100000 + r.id')}, {status}, 1, "
            f"{content}, '', {stamp}, {stamp}, {stamp} FROM notifications_recipient r "
            f"WHERE r.id <= {int(count)}",
            "INSERT INTO notifications_deliverycounter (campaign_id, status, count) "
            "SELECT campaign_id, status, COUNT(*) FROM notifications_delivery "
            f"WHERE campaign_id = {campaign} GROUP BY campaign_id, status",
            "INSERT INTO notifications_deliveryevent (type, occurred_at, campaign_id, "
            "delivery_id, recipient_id, detail, data, created_at, link, sendios_user_id) "
            f"SELECT d.status, {stamp}, d.campaign_id, d.id, d.recipient_id, '', '{{}}', {stamp}, "
            "'', '' FROM notifications_delivery d "
            f"WHERE d.campaign_id = {campaign} AND d.status IN ('sent', 'failed', 'unknown')",
            "INSERT INTO notifications_deliveryevent (type, occurred_at, campaign_id, "
            "delivery_id, recipient_id, detail, data, created_at, sms_id, link, sendios_user_id, "
            "dedup_key) "
            "SELECT CASE WHEN d.id % 30 = 0 THEN 'sms_click' ELSE 'sms_sent' END, "
            f"{stamp}, d.campaign_id, d.id, d.recipient_id, '', '{{}}', {stamp}, d.id, '', "
            f"'cust-' || {_text(database, 'd.recipient_id')}, "
            f"'seed-{campaign}-' || {_text(database, 'd.id')} FROM notifications_delivery d "
            f"WHERE d.campaign_id = {campaign} AND d.status = 'sent' AND d.id % 10 = 0",
            # Its deliveries exist: the campaign is materialised, as the worker would mark it.
            f"UPDATE notifications_campaign SET materialised_at = {stamp} WHERE id = {campaign}",
        ]
    )
    analyse(database)


def shifted(database: ScratchDatabase, base: str, seconds: str) -> str:
    """SQL: the timestamp `base` (an expression, or "now") moved by `seconds` (an expression),
    in the form Django stores on this backend."""
    if database.backend == POSTGRESQL:
        start = "now()" if base == "now" else base
        return f"({start} + make_interval(secs => {seconds}))"
    start = "'now'" if base == "now" else base
    return f"strftime('%Y-%m-%d %H:%M:%f', {start}, ({seconds}) || ' seconds')"


def history(database: ScratchDatabase, campaign_ids: list[int], first: int, last: int) -> list[str]:
    """SQL: deliveries of recipients `first..last` in each campaign, in the usual mix of outcomes,
    and about two events each: its outcome, then for a sent one the SMS callback (every 30th a
    click), spread over the hour after the campaign's `started_at`. Counters are left to
    `counters`: recount once after all the history is in."""
    campaigns = ", ".join(str(int(pk)) for pk in campaign_ids)
    status = (
        "CASE WHEN r.opted_out_at IS NOT NULL THEN 'skipped' WHEN r.id % 100 < 3 THEN 'failed' "
        "WHEN r.id % 100 < 5 THEN 'pending' WHEN r.id % 100 < 6 THEN 'unknown' ELSE 'sent' END"
    )
    stamp = now(database)
    when = shifted(database, "c.started_at", "d.id % 3600")
    rows = f"d.campaign_id IN ({campaigns}) AND d.recipient_id BETWEEN {int(first)} AND {int(last)}"
    return [
        "INSERT INTO notifications_delivery (campaign_id, recipient_id, address, status, "
        "attempts, content, error, sent_at, created_at, updated_at) "
        f"SELECT c.id, r.id, {_text(database, '100000 + r.id')}, {status}, 1, "
        f"'{{\"text\": \"Hello!\"}}', '', c.started_at, c.started_at, {stamp} "
        "FROM notifications_campaign c JOIN notifications_recipient r "
        f"ON r.id BETWEEN {int(first)} AND {int(last)} WHERE c.id IN ({campaigns})",
        "INSERT INTO notifications_deliveryevent (type, occurred_at, campaign_id, delivery_id, "
        "recipient_id, detail, data, created_at, link, sendios_user_id) "
        "SELECT CASE d.status WHEN 'pending' THEN 'retry_scheduled' ELSE d.status END, "
        f"{when}, d.campaign_id, d.id, d.recipient_id, '', '{{}}', {when}, '', '' "
        "FROM notifications_delivery d JOIN notifications_campaign c ON c.id = d.campaign_id "
        f"WHERE {rows}",
        "INSERT INTO notifications_deliveryevent (type, occurred_at, campaign_id, delivery_id, "
        "recipient_id, detail, data, created_at, sms_id, link, sendios_user_id, dedup_key) "
        "SELECT CASE WHEN d.id % 30 = 0 THEN 'sms_click' ELSE 'sms_sent' END, "
        f"{when}, d.campaign_id, d.id, d.recipient_id, '', '{{}}', {when}, d.id, '', "
        f"'cust-' || {_text(database, 'd.recipient_id')}, 'h-' || {_text(database, 'd.id')} "
        "FROM notifications_delivery d JOIN notifications_campaign c ON c.id = d.campaign_id "
        f"WHERE {rows} AND d.status = 'sent'",
    ]


def counters(campaign_ids: list[int]) -> list[str]:
    """SQL: the campaigns' delivery counters counted again from their rows."""
    campaigns = ", ".join(str(int(pk)) for pk in campaign_ids)
    return [
        f"DELETE FROM notifications_deliverycounter WHERE campaign_id IN ({campaigns})",
        "INSERT INTO notifications_deliverycounter (campaign_id, status, count) "
        "SELECT campaign_id, status, COUNT(*) FROM notifications_delivery "
        f"WHERE campaign_id IN ({campaigns}) GROUP BY campaign_id, status",
    ]


HISTORY_TABLES = ("notifications_delivery", "notifications_deliveryevent")


def fill(database: ScratchDatabase, statements: list[str]) -> None:
    """Run statements that add many deliveries and events, then analyse.

    On PostgreSQL the two tables' indexes that back no constraint are dropped meanwhile and
    built again after (the same indexes, as a fresh `CREATE INDEX` builds them), foreign-key
    triggers are off for the session (the rows refer to rows made just before), and the tables
    are vacuumed, as autovacuum would have left them: tens of millions of rows in minutes.
    """
    if database.backend != POSTGRESQL:
        database.sql(statements)
        analyse(database)
        return
    with _indexes_rebuilt(database):
        database.sql(["SET session_replication_role = replica", *statements])
    with connect(database) as conn:
        conn.autocommit = True
        for table in HISTORY_TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")


@contextmanager
def _indexes_rebuilt(database: ScratchDatabase) -> Iterator[None]:
    with connect(database) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [list(HISTORY_TABLES)],
        ).fetchall()
    database.sql([f'DROP INDEX "{name}"' for name, _ in indexes])
    try:
        yield
    finally:
        database.sql(["SET maintenance_work_mem = '512MB'", *[sql for _, sql in indexes]])
