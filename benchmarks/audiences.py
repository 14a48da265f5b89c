"""Segments at a million recipients: counting one, and freezing one into deliveries.

The recipients look like a shop's: a city among 50 (Moscow for a fifth), a loyalty tier among
four, an age, a signup date, 10 % opted out, a LeadConverter address for 70 %; a static list
of about a tenth of them (a suppression list) and an earlier campaign with deliveries to a
tenth, 3 % of them failed. The attribute registry types `age` as a number and `signup` as a
date before any recipient exists, so values are stored typed and the typed conditions run.

- **count**: `audience_people(segment).count()` (what the segment's size and the rule
  builder's live count run), warm, the median of a few, for the segment "city is Moscow AND
  (tier is gold OR age > 30 OR signed up after 2024) AND has a LeadConverter address AND not in
  the suppression list AND the earlier campaign's delivery failed" and again with "was not
  failed". The ceiling is the same count written by hand in SQL over the same tables, trusting
  the JSON's types; the two counts must agree.
- **materialise**: `campaign_materialise` (the materialise benchmark's child) of a campaign
  whose audience is a segment of everyone ("age ≥ 18", which every recipient is), against a
  campaign over a static list of the same people. The static one goes first, so the segment
  inserts into a table that already holds a million deliveries: if anything, against it.

Each row's extra column carries the load average when it was measured (the machine is shared).
"""

from __future__ import annotations

import json
import os
import sys

from benchmarks import seed
from benchmarks.common import (
    POSTGRESQL,
    Row,
    ScratchDatabase,
    backends,
    format_table,
    machine,
    scratch_database,
)
from benchmarks.materialise import CHILD as MATERIALISE

FULL_SIZE = 1_000_000
SMOKE_SIZE = 2_000
TARGET_COUNT_SECONDS = 1.0
TARGET_MATERIALISE_RATIO = 1.5
TYPES = {"city": "text", "tier": "text", "age": "number", "signup": "date"}


def _share(column: str, multiplier: int, below: int) -> str:
    """True for about `below` in 1,000 rows, spread over ids: a different `multiplier` picks a
    different, roughly independent, set. (`% 1000` first keeps PostgreSQL's int4 from
    overflowing at a million.)"""
    return f"({column} % 1000) * {multiplier} % 1000 < {below}"


OPTED_OUT = _share("i", 7919, 100)
HAS_ADDRESS = _share("id", 6007, 700)
SUPPRESSED = _share("id", 4993, 100)


def _attributes(database: ScratchDatabase) -> str:
    """Recipient i's attributes as a JSON object, built in SQL."""
    city = (
        f"CASE WHEN {_share('i', 3001, 200)} THEN 'Moscow' "
        "ELSE 'City ' || CAST((i % 1000) * 2003 % 49 + 1 AS text) END"
    )
    tier = (
        "CASE (i % 1000) * 2971 % 1000 / 250 WHEN 0 THEN 'bronze' WHEN 1 THEN 'silver' "
        "WHEN 2 THEN 'gold' ELSE 'platinum' END"
    )
    age = "18 + (i % 1000) * 3989 % 62"
    days = "(i % 2000) * 991 % 2000"
    if database.backend == POSTGRESQL:
        signup = f"to_char(DATE '2020-01-01' + {days}, 'YYYY-MM-DD')"
        build = "jsonb_build_object"
    else:
        signup = f"date('2020-01-01', '+' || ({days}) || ' days')"
        build = "json_object"
    return f"{build}('city', {city}, 'tier', {tier}, 'age', {age}, 'signup', {signup})"


def recipients(database: ScratchDatabase, count: int) -> None:
    """Recipients 1..count (ids from 1 in a fresh database) with attributes, some opted out,
    most with a LeadConverter address."""
    stamp = seed.now(database)
    phone = (
        "'7999' || lpad(CAST(i AS text), 7, '0')"
        if database.backend == POSTGRESQL
        else "'7999' || printf('%07d', i)"
    )
    database.sql(
        [
            "INSERT INTO notifications_recipient (external_id, phone, first_name, last_name, "
            "attributes, opted_out_at, created_at, updated_at) "
            f"SELECT 'cust-' || CAST(i AS text), {phone}, 'Name' || CAST(i AS text), "
            f"'Surname' || CAST(i AS text), {_attributes(database)}, "
            f"CASE WHEN {OPTED_OUT} THEN {stamp} END, {stamp}, {stamp} "
            f"FROM {seed.series(database, count)}",
            "INSERT INTO notifications_address (recipient_id, channel, value, created_at) "
            f"SELECT id, '{seed.CHANNEL}', CAST(100000 + id AS text), {stamp} "
            f"FROM notifications_recipient WHERE {HAS_ADDRESS}",
        ]
    )
    seed.analyse(database)


def suppression_members(database: ScratchDatabase, audience_id: int) -> None:
    """About a tenth of the recipients join the static list, its kept size set to match."""
    audience = int(audience_id)
    database.sql(
        [
            "INSERT INTO notifications_audiencemember (audience_id, recipient_id, added_at) "
            f"SELECT {audience}, id, {seed.now(database)} FROM notifications_recipient "
            f"WHERE {SUPPRESSED}",
            "UPDATE notifications_audience SET size = (SELECT COUNT(*) FROM "
            f"notifications_audiencemember WHERE audience_id = {audience}) WHERE id = {audience}",
        ]
    )
    seed.analyse(database)


REGISTRY = """
from notifications.recipients.attributes import recipient_attribute_save
for name, kind in TYPES.items():
    recipient_attribute_save(attribute=None, data={"name": name, "type": kind})
result = {}
"""

SUPPRESSION = """
from notifications.audiences.services import audience_save
result = audience_save(audience=None, data={"name": "suppression", "kind": "static"}).pk
"""

# Made through the service that staff's rule builder and the API call: rules checked, size
# counted (one untimed count, which also warms the caches).
SEGMENTS = """
from notifications.audiences.services import audience_save
from notifications.models import Campaign
result = {}
for name, rules in RULES.items():
    result[name] = audience_save(
        audience=None, data={"name": name, "kind": "segment", "rules": rules}
    ).pk
Campaign.objects.get(pk=SEGMENT_CAMPAIGN).audiences.set([result["everyone"]])
"""

COUNT = """
import os, statistics, time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from notifications.audiences.query import audience_people
from notifications.models import Audience

def median_seconds(count):
    count()  # warm: the first run reads the pages from disk
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = count()
        times.append(time.perf_counter() - started)
    return value, statistics.median(times)

def by_hand():
    with connection.cursor() as cursor:
        cursor.execute(SQL)
        return cursor.fetchone()[0]

segment = Audience.objects.get(pk=SEGMENT)
people, seconds = median_seconds(lambda: audience_people(segment).count())
expected, ceiling = median_seconds(by_hand)
load = os.getloadavg()[0]
plan = ""
if connection.vendor == "postgresql":
    with CaptureQueriesContext(connection) as queries:
        audience_people(segment).count()
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest)
        plan = slowest + "\\n" + "\\n".join(row[0] for row in cursor.fetchall())
result = {
    "people": people, "seconds": seconds, "expected": expected, "ceiling": ceiling,
    "load": load, "plan": plan,
}
"""


def segment_rules(suppression_id: int, campaign_id: int, delivery_op: str) -> dict:
    """The segment counted: attributes of three types, an address, a list, an engagement."""
    return {
        "match": "all",
        "rules": [
            {"field": "attributes.city", "op": "eq", "value": "Moscow"},
            {
                "match": "any",
                "rules": [
                    {"field": "attributes.tier", "op": "eq", "value": "gold"},
                    {"field": "attributes.age", "op": "gt", "value": 30},
                    {"field": "attributes.signup", "op": "after", "value": "2024-12-31"},
                ],
            },
            {"field": "address", "op": "has", "value": seed.CHANNEL},
            {"field": "audience", "op": "not_in", "value": suppression_id},
            {
                "field": "delivery",
                "op": delivery_op,
                "value": {"status": "failed", "campaign": campaign_id},
            },
        ],
    }


EVERYONE = {"match": "all", "rules": [{"field": "attributes.age", "op": "gte", "value": 18}]}


def by_hand_sql(
    database: ScratchDatabase, suppression_id: int, campaign_id: int, delivery_op: str
) -> str:
    """`segment_rules` written by hand: plain JSON reads, EXISTS for the rest."""
    if database.backend == POSTGRESQL:

        def attribute(name: str) -> str:
            return f"r.attributes ->> '{name}'"

        age = f"CAST({attribute('age')} AS double precision)"
    else:

        def attribute(name: str) -> str:
            return f"json_extract(r.attributes, '$.{name}')"

        age = attribute("age")
    failed = "EXISTS" if delivery_op == "was" else "NOT EXISTS"
    return (
        "SELECT COUNT(*) FROM notifications_recipient r "
        f"WHERE {attribute('city')} = 'Moscow' "
        f"AND ({attribute('tier')} = 'gold' OR {age} > 30 "
        f"OR {attribute('signup')} > '2024-12-31') "
        "AND EXISTS (SELECT 1 FROM notifications_address a WHERE a.recipient_id = r.id "
        f"AND a.channel = '{seed.CHANNEL}') "
        "AND NOT EXISTS (SELECT 1 FROM notifications_audiencemember m "
        f"WHERE m.audience_id = {int(suppression_id)} AND m.recipient_id = r.id) "
        f"AND {failed} (SELECT 1 FROM notifications_delivery d "
        f"WHERE d.campaign_id = {int(campaign_id)} AND d.recipient_id = r.id "
        "AND d.status = 'failed')"
    )


def _materialise(database: ScratchDatabase, campaign_id: int, size: int) -> tuple[float, float]:
    """Seconds and peak MB of `campaign_materialise` in a child; it must make `size` rows."""
    child = database.python("-c", MATERIALISE.format(campaign_id=campaign_id))
    report = json.loads(child.stdout.strip().splitlines()[-1])
    made = sum(report["counts"].values())
    if made != size:
        raise RuntimeError(f"{size:,} people became {made:,} deliveries")
    return report["seconds"], child.peak_mb


def measure(database: ScratchDatabase, smoke: bool) -> list[Row]:
    size = SMOKE_SIZE if smoke else FULL_SIZE
    repeats = 2 if smoke else 5
    seed.django(database, f"TYPES = {TYPES!r}\n" + REGISTRY)
    recipients(database, size)
    specs = {
        "earlier": {"channel": seed.CHANNEL, "status": "completed"},
        "static": {"channel": seed.CHANNEL, "status": "running"},
        "segment": {"channel": seed.CHANNEL, "status": "running"},
    }
    ids = seed.campaigns(database, specs)
    earlier = ids["campaigns"]["earlier"]
    seed.deliveries(database, earlier, size // 10)
    seed.members(database, ids["audiences"]["static"], size)
    suppression = seed.django(database, SUPPRESSION)
    suppression_members(database, suppression)
    rules = {op: segment_rules(suppression, earlier, op) for op in ("was", "was_not")}
    rules["everyone"] = EVERYONE
    segments = seed.django(
        database,
        f"RULES = {rules!r}\nSEGMENT_CAMPAIGN = {ids['campaigns']['segment']}\n" + SEGMENTS,
    )
    rows = []
    for op, words in (("was", "failed"), ("was_not", "did not fail")):
        sql = by_hand_sql(database, suppression, earlier, op)
        count = seed.django(
            database,
            f"SEGMENT = {segments[op]}\nREPEATS = {repeats}\nSQL = {sql!r}\n" + COUNT,
        )
        if count["people"] != count["expected"]:
            raise RuntimeError(
                f"the segment counts {count['people']:,}, by hand {count['expected']:,}"
            )
        seconds = count["seconds"]
        met = None
        if database.backend == POSTGRESQL and not smoke:
            met = seconds < TARGET_COUNT_SECONDS
        if met is False:
            print(f"--- segment count ({words}, {database.backend}): plan", file=sys.stderr)
            print(count["plan"], file=sys.stderr)
        rows.append(
            Row(
                benchmark="audiences",
                case=f"segment count, {size:,} recipients, earlier delivery {words}",
                backend=database.backend,
                value=seconds * 1000,
                unit="ms",
                ceiling=count["ceiling"] * 1000,
                target=f"< {TARGET_COUNT_SECONDS * 1000:.0f} ms on PostgreSQL",
                met=met,
                extra=f"{count['people']:,} people (by hand: the same); load {count['load']:.2f}",
            )
        )
    static_seconds, static_mb = _materialise(database, ids["campaigns"]["static"], size)
    static_load = os.getloadavg()[0]
    segment_seconds, segment_mb = _materialise(database, ids["campaigns"]["segment"], size)
    segment_load = os.getloadavg()[0]
    ratio = segment_seconds / static_seconds
    rows.append(
        Row(
            benchmark="audiences",
            case=f"materialise a segment of {size:,} (ceiling: a static list of them)",
            backend=database.backend,
            value=segment_seconds,
            unit="s",
            ceiling=static_seconds,
            target=f"ratio ≤ {TARGET_MATERIALISE_RATIO}",
            met=None if smoke else ratio <= TARGET_MATERIALISE_RATIO,
            extra=f"{size / segment_seconds:,.0f} / {size / static_seconds:,.0f} rows/s, "
            f"peak {segment_mb:.0f} / {static_mb:.0f} MB; "
            f"load {segment_load:.2f} / {static_load:.2f}",
        )
    )
    return rows


def run(*, smoke: bool) -> list[Row]:
    """Both rows on every backend."""
    rows = []
    for backend in backends():
        with scratch_database(backend, label="audiences") as database:
            rows.extend(measure(database, smoke))
    return rows


if __name__ == "__main__":
    print(f"# Segments, {machine()}")
    print(format_table(run(smoke="--smoke" in sys.argv)))
