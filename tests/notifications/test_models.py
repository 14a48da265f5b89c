"""Constraints live in the database, not only in forms."""

import json
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import Address, Delivery, Recipient
from notifications.sending.leases import deliveries_expired
from tests.factories import make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def test_external_id_is_unique():
    make_recipient(external_id="c-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Recipient.objects.create(external_id="c-1")


def test_an_address_belongs_to_one_recipient_per_channel():
    first = make_recipient(addresses={"leadconverter": "1"})
    second = make_recipient()
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(recipient=second, channel="leadconverter", value="1")
    # The same value on another channel is another address.
    Address.objects.create(recipient=second, channel="bitrix24", value="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(recipient=first, channel="leadconverter", value="2")


def test_one_delivery_per_campaign_and_recipient():
    recipient = make_recipient()
    campaign = make_campaign()
    Delivery.objects.create(campaign=campaign, recipient=recipient)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(campaign=campaign, recipient=recipient)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("due", "delivery_due"),
        ("expired_leases", "delivery_campaign_status"),
        ("claimed", "delivery_campaign_status"),
        ("sent_lately", "delivery_sent"),
    ],
)
def test_the_engines_queries_can_use_their_indexes(postgres_only, query, index):
    # A partial index serves only queries whose conditions imply its own; with sequential
    # scans off, the plan shows whether each query the engine runs can use its index. (Plain
    # composite indexes need no such check: on an empty table the planner's pick among them is
    # a tie, not a finding.)
    now = timezone.now()
    queries = {
        "due": Delivery.objects.filter(campaign_id=1, status="pending").filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        ),
        "expired_leases": deliveries_expired(campaign_ids=[1, 2], now=now),
        "claimed": Delivery.objects.filter(
            campaign_id=1, status="sending", claim_token=uuid.uuid4()
        ),
        "sent_lately": Delivery.objects.filter(campaign_id=1, sent_at__gt=now),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # The other indexes go (the test's transaction brings them back): which of several
        # usable indexes the planner prefers depends on the statistics earlier tests left.
        cursor.execute(
            "SELECT i.relname, c.conname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND i.relname <> %s",
            [Delivery._meta.db_table, index],
        )
        for name, constraint in cursor.fetchall():
            if constraint:
                cursor.execute(
                    f'ALTER TABLE "{Delivery._meta.db_table}" DROP CONSTRAINT "{constraint}"'
                )
            else:
                cursor.execute(f'DROP INDEX "{name}"')
        plan = queries[query].explain()
    assert index in plan


def test_a_claim_starts_its_index_scan_at_the_senders_cursor(postgres_only):
    # Claims take the lowest ids first. Without the cursor the planner walked the primary key
    # from the campaign's first row, past every row already sent: each claim cost grew with
    # the send, quadratic over a whole campaign.
    campaign = make_campaign()
    recipients = Recipient.objects.bulk_create(
        Recipient(external_id=f"claim-{i}") for i in range(3000)
    )
    Delivery.objects.bulk_create(
        Delivery(campaign=campaign, recipient=r, status="sent" if i < 2000 else "pending")
        for i, r in enumerate(recipients)
    )
    cursor_id = Delivery.objects.filter(campaign=campaign).order_by("id")[1999].id
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_delivery")
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM notifications_delivery "
            "WHERE campaign_id = %s AND status = 'pending' AND id > %s "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= now()) "
            "ORDER BY id LIMIT 10 FOR NO KEY UPDATE SKIP LOCKED",
            [campaign.pk, cursor_id],
        )
        plan = cursor.fetchone()[0][0]["Plan"]
    nodes = []
    stack = [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    scans = [node for node in nodes if node["Node Type"] in ("Index Scan", "Index Only Scan")]
    assert scans, json.dumps(plan)
    assert "id >" in scans[0].get("Index Cond", ""), json.dumps(scans[0])
    assert scans[0].get("Rows Removed by Filter", 0) == 0, json.dumps(scans[0])
    assert not [node for node in nodes if node["Node Type"] == "Sort"]


# What a request's start writes (`claims.deliveries_start`), and a lease's renewal.
START_COLUMNS = {"request_started_at", "lease_expires_at", "attempts", "updated_at", "claim_token"}


def test_a_requests_start_can_update_its_rows_in_place(postgres_only):
    # PostgreSQL writes a row's new version beside the old with no index entry (a HOT update)
    # when no indexed column changes, a partial index's condition included, and the page has
    # room. So no index may name what the start changes, and the table leaves room on its
    # pages: otherwise every start writes one entry per index and per delivery.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass",
            [Delivery._meta.db_table],
        )
        definitions = cursor.fetchall()
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Delivery._meta.db_table]
        )
        (options,) = cursor.fetchone()
    assert len(definitions) >= 5
    for name, definition in definitions:
        named = {column for column in START_COLUMNS if column in definition}
        assert not named, f"{name} names {named}: {definition}"
    assert "fillfactor=50" in (options or [])
