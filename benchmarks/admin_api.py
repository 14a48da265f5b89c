"""Admin and API at scale: the pages staff open most, with a million deliveries behind them.

A scratch database gets one running campaign of N deliveries (with counters, history and SMS
callbacks), a draft on the same audience and a few small finished campaigns. A child process
then requests, as a logged-in superuser through Django's test client, the campaign list, the
big campaign's change page, the dashboard (the admin's index) and
`GET /api/campaigns/{id}/stats/`: the median of several requests and the queries of one. The
ceiling is a plain admin page (the password form: the login, the session and a template, no
data) in the same process.
"""

from __future__ import annotations

import json
import sys

from benchmarks import seed
from benchmarks.common import (
    Row,
    ScratchDatabase,
    backends,
    format_table,
    machine,
    scratch_database,
)

TARGET_MS = 300
# The admin index became the dashboard, which reads campaigns: the ceiling is a page that
# reads nothing of ours.
CEILING, CEILING_URL = "plain admin page", "/admin/password_change/"
SMALL_CAMPAIGNS = 8
PASSWORD = "benchmark-only-password"  # noqa: S105 - a scratch superuser's, for one run


def _sizes(smoke: bool) -> dict[str, int]:
    if smoke:
        return {"deliveries": 500, "small": 20, "repeats": 2}
    return {"deliveries": 1_000_000, "small": 1_000, "repeats": 7}


CHILD = """
import django, json, statistics, time
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

client = Client()
assert client.login(username="bench", password=PASSWORD)
result = {}
for name, url in PAGES.items():
    client.get(url)  # the first request of a page imports and compiles what it needs
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default=None)
    plan = ""
    if slowest and float(slowest["time"]) > 0.05 and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            plan = "\\n".join(row[0] for row in cursor.fetchall())
    result[name] = {
        "median": statistics.median(times),
        "queries": len(queries.captured_queries),
        "db_seconds": sum(float(q["time"]) for q in queries.captured_queries),
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0.0,
        "slowest_sql": slowest["sql"] if slowest else "",
        "plan": plan,
    }
"""


def pages_measure(database: ScratchDatabase, pages: dict[str, str], repeats: int) -> dict:
    """Each page's timings from a child process (the ceiling's page always among them)."""
    pages = {CEILING: CEILING_URL, **pages}
    code = f"PAGES = {pages!r}\nREPEATS = {repeats}\nPASSWORD = {PASSWORD!r}\n" + CHILD
    code += "print(json.dumps(result))\n"
    # Imshop configured (never called), so its pages estimate as production's do.
    env = database.env(
        ALLOWED_HOSTS="testserver",
        IMSHOP_PUSH_URL="http://127.0.0.1:9/push",
        IMSHOP_API_KEY="benchmark-only",
    )
    child = database.python("-c", code, env=env)
    return json.loads(child.stdout.strip().splitlines()[-1])


def measure(database: ScratchDatabase, smoke: bool) -> list[Row]:
    sizes = _sizes(smoke)
    seed.recipients(database, sizes["deliveries"])
    specs = {"big": {"channel": seed.CHANNEL, "status": "running"}}
    specs["draft"] = {"channel": seed.CHANNEL, "status": "draft"}
    # Imshop sends one text per request: the plan counts distinct texts (here all differ).
    specs["imshop-draft"] = {"channel": "imshop", "status": "draft"}
    for n in range(SMALL_CAMPAIGNS):
        specs[f"small-{n}"] = {"channel": seed.CHANNEL, "status": "completed"}
    ids = seed.campaigns(database, specs, admin_password=PASSWORD)
    seed.members(database, ids["audiences"]["big"], sizes["deliveries"])
    seed.members(database, ids["audiences"]["draft"], sizes["deliveries"])
    seed.deliveries(database, ids["campaigns"]["big"], sizes["deliveries"])
    for n in range(SMALL_CAMPAIGNS):
        seed.members(database, ids["audiences"][f"small-{n}"], sizes["small"])
        seed.deliveries(database, ids["campaigns"][f"small-{n}"], sizes["small"])
    big = ids["campaigns"]["big"]
    pages = {
        "dashboard": "/admin/",
        "campaign list": "/admin/notifications/campaign/",
        "campaign change page": f"/admin/notifications/campaign/{big}/change/",
        "draft campaign page": f"/admin/notifications/campaign/{ids['campaigns']['draft']}/change/",
        "API campaign stats": f"/api/campaigns/{big}/stats/",
        "API draft stats": f"/api/campaigns/{ids['campaigns']['draft']}/stats/",
    }
    result = pages_measure(database, pages, sizes["repeats"])
    # Then the Imshop draft gets the other draft's audience: measured apart, so the pages
    # above count the same memberships as in earlier runs.
    database.sql(
        "UPDATE notifications_campaign_audiences SET audience_id = "
        f"{ids['audiences']['draft']} WHERE campaign_id = {ids['campaigns']['imshop-draft']}"
    )
    imshop = ids["campaigns"]["imshop-draft"]
    result |= pages_measure(
        database,
        {
            "personalised Imshop draft page": f"/admin/notifications/campaign/{imshop}/change/",
            "API personalised Imshop draft stats": f"/api/campaigns/{imshop}/stats/",
        },
        sizes["repeats"],
    )
    ceiling = result[CEILING]["median"] * 1000
    rows = []
    for name in (
        "dashboard",
        "campaign list",
        "campaign change page",
        "draft campaign page",
        "API campaign stats",
        "API draft stats",
        "personalised Imshop draft page",
        "API personalised Imshop draft stats",
    ):
        page = result[name]
        scale = f"{sizes['deliveries']:,} {'members' if 'draft' in name else 'deliveries'}"
        value = page["median"] * 1000
        extra = page_said(page, f"{name} ({database.backend})")
        rows.append(
            Row(
                benchmark="admin_api",
                case=f"{name}, {scale}",
                backend=database.backend,
                value=value,
                unit="ms",
                ceiling=ceiling,
                target=f"< {TARGET_MS} ms",
                met=None if smoke else value < TARGET_MS,
                extra=extra,
            )
        )
    return rows


def page_said(page: dict, label: str) -> str:
    """A measured page's queries, SQL time and slowest query for its row; the slowest query's
    plan, when there is one, goes to stderr under `label`."""
    said = f"{page['queries']} queries, {page['db_seconds'] * 1000:.0f} ms in SQL"
    if page["slowest_ms"] >= 20:
        said += f"; slowest {page['slowest_ms']:.0f} ms: {page['slowest_sql'][:120]}"
    if page["plan"]:
        print(f"--- {label}: slowest query plan", file=sys.stderr)
        print(page["slowest_sql"], file=sys.stderr)
        print(page["plan"], file=sys.stderr)
    return said


def run(*, smoke: bool) -> list[Row]:
    """Every backend (SQLite; PostgreSQL when BENCH_DATABASE_URL is set)."""
    rows = []
    for backend in backends():
        with scratch_database(backend, label="admin") as database:
            rows.extend(measure(database, smoke))
    return rows


if __name__ == "__main__":
    print(f"# Admin and API at scale, {machine()}")
    print(format_table(run(smoke="--smoke" in sys.argv)))
