"""PostgreSQL plans of the SMS callbacks' queries: bound to the campaign, or to the sms_id asked."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.campaigns.sms import campaign_sms_stats
from notifications.models import DeliveryEvent
from tests.factories import make_campaign

pytestmark = pytest.mark.postgres

CAMPAIGNS = 20
SMS_PER_CAMPAIGN = 300


def _callbacks_of(campaigns: list, sms_base: int) -> list[DeliveryEvent]:
    now = timezone.now()
    events = []
    for number, campaign in enumerate(campaigns):
        for n in range(SMS_PER_CAMPAIGN):
            sms_id = sms_base + number * SMS_PER_CAMPAIGN + n
            kind = "sms_click" if n % 30 == 0 else "sms_sent"
            events.append(
                DeliveryEvent(
                    type=kind,
                    campaign=campaign,
                    occurred_at=now,
                    sms_id=sms_id,
                    dedup_key=f"plan-{sms_id}",
                )
            )
            # The send path's own event beside each callback: no sms_id, no dedup key.
            events.append(DeliveryEvent(type="sent", campaign=campaign, occurred_at=now))
    return events


def _explain(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        return cursor.fetchone()[0][0]["Plan"]


def _nodes(plan: dict) -> list[dict]:
    nodes, stack = [], [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def test_a_campaigns_sms_funnel_reads_only_its_own_callbacks(postgres_only):
    campaigns = [make_campaign(channel="leadconverter") for _ in range(CAMPAIGNS)]
    DeliveryEvent.objects.bulk_create(_callbacks_of(campaigns, sms_base=1_000_000))
    opened = campaigns[CAMPAIGNS // 2]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_deliveryevent")
        # At 10,000,000 events the planner chose between a bitmap over the campaign's rows,
        # scattered (it assumed) over the whole table, and a scan of the whole sms_id index.
        # Here only index scans are left, and only the funnel's index and that one (the test's
        # transaction brings the others back): on a small table a pick among several indexes
        # bound to the campaign would be a tie, not a finding.
        for method in ("seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique "
            "AND i.relname NOT IN ('event_campaign_sms', 'event_sms_id')",
            [DeliveryEvent._meta.db_table],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
    with CaptureQueriesContext(connection) as queries:
        stats = campaign_sms_stats(campaign_id=opened.pk)
    assert (stats.sent, stats.clicked) == (SMS_PER_CAMPAIGN, SMS_PER_CAMPAIGN // 30)
    (query,) = queries.captured_queries
    plan = _explain(query["sql"])
    scans = [node for node in _nodes(plan) if "Index Name" in node or "Relation Name" in node]
    assert [node.get("Index Name") for node in scans] == ["event_campaign_sms"], json.dumps(plan)
    assert f"campaign_id = {opened.pk}" in scans[0]["Index Cond"], json.dumps(plan)
    read = scans[0]["Actual Rows"] + scans[0].get("Rows Removed by Filter", 0)
    assert read == SMS_PER_CAMPAIGN, json.dumps(plan)


def test_looking_an_sms_up_by_its_id_uses_the_sms_id_index(postgres_only):
    # An audience's "delivered" rule asks, for each SMS sent, whether its sms_lost came, in
    # any campaign or none: the partial index serves it, as `sms_id = x` implies NOT NULL.
    DeliveryEvent.objects.bulk_create(_callbacks_of([make_campaign()], sms_base=5_000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_deliveryevent")
        cursor.execute("SET LOCAL enable_seqscan = off")
    lost = DeliveryEvent.objects.filter(sms_id=5_042, type=DeliveryEvent.Type.SMS_LOST)
    assert "event_sms_id" in lost.explain()


def test_only_callbacks_have_entries_in_the_indexes_of_callback_fields(postgres_only):
    # Every event of the send path would otherwise write an entry of NULL in each of them.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, x.indpred IS NOT NULL FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey) "
            "WHERE x.indrelid = %s::regclass AND a.attname IN ('sms_id', 'dedup_key')",
            [DeliveryEvent._meta.db_table],
        )
        partial = dict(cursor.fetchall())
    assert partial == {"event_campaign_sms": True, "event_sms_id": True, "event_dedup_key": True}
