"""The bulk SQL module, on whichever database the suite runs (SQLite, or PostgreSQL with
DATABASE_URL): each write checked by reading the rows back through the ORM.

"Over the parameter limit" means more values than SQLite takes in one statement, so the rows
go out in several; PostgreSQL sends them in one (COPY, arrays or a JSON document).
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.db.bulk import (
    bulk_insert,
    bulk_insert_objects,
    bulk_update,
    bulk_upsert,
    db_json,
    db_timestamp,
    db_value,
)
from notifications.models import AudienceMember, Delivery, DeliveryEvent, Recipient
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
# More rows than one statement of SQLite's parameter limit holds at any width used here.
MANY = 2_500


def event_row(detail: str, data: object = None, at: datetime = MOMENT) -> tuple:
    stamp = db_timestamp(at)
    return ("sent", stamp, stamp, detail, db_json({} if data is None else data), "", "")


EVENT_COLUMNS = ["type", "occurred_at", "created_at", "detail", "data", "link", "sendios_user_id"]


def recipient_row(external_id: str, first_name: str = "", phone: str = "") -> tuple:
    stamp = db_timestamp(MOMENT)
    attributes = db_value(Recipient, "attributes", {"city": "Казань"})
    return (external_id, phone, first_name, "", attributes, stamp, stamp)


RECIPIENT_COLUMNS = [
    "external_id",
    "phone",
    "first_name",
    "last_name",
    "attributes",
    "created_at",
    "updated_at",
]


def deliveries(count: int) -> list[Delivery]:
    campaign = make_campaign()
    recipients = Recipient.objects.bulk_create(
        Recipient(external_id=f"d-{i}") for i in range(count)
    )
    return Delivery.objects.bulk_create(
        Delivery(campaign=campaign, recipient=recipient, address=recipient.external_id)
        for recipient in recipients
    )


# --- bulk_insert --------------------------------------------------------------------------


def test_bulk_insert_stores_text_json_and_timestamps_as_given():
    bulk_insert(DeliveryEvent, EVENT_COLUMNS, [event_row("tab\there, new\nline", {"a": "ж"})])
    event = DeliveryEvent.objects.get()
    assert (event.detail, event.data, event.occurred_at) == (
        "tab\there, new\nline",
        {"a": "ж"},
        MOMENT,
    )


def test_bulk_insert_takes_json_adapted_by_the_field_itself():
    stamp = db_timestamp(MOMENT)
    row = ("sent", stamp, stamp, "", db_value(DeliveryEvent, "data", {"nested": [1]}), "", "")
    bulk_insert(DeliveryEvent, EVENT_COLUMNS, [row])
    assert DeliveryEvent.objects.get().data == {"nested": [1]}


def test_bulk_insert_keeps_sql_null_for_none():
    stamp = db_timestamp(MOMENT)
    bulk_insert(
        DeliveryEvent,
        [*EVENT_COLUMNS, "sms_id"],
        [("sent", stamp, stamp, "", db_json({}), "", "", None)],
    )
    assert DeliveryEvent.objects.get().sms_id is None


def test_bulk_insert_of_no_rows_sends_no_statement():
    with CaptureQueriesContext(connection) as queries:
        bulk_insert(DeliveryEvent, EVENT_COLUMNS, [])
    assert len(queries) == 0


def test_bulk_insert_stores_every_row_of_a_batch_over_the_parameter_limit():
    bulk_insert(DeliveryEvent, EVENT_COLUMNS, [event_row(str(i)) for i in range(MANY)])
    details = set(DeliveryEvent.objects.values_list("detail", flat=True))
    assert details == {str(i) for i in range(MANY)}


# --- bulk_upsert --------------------------------------------------------------------------


def test_bulk_upsert_inserts_new_rows():
    bulk_upsert(
        Recipient, RECIPIENT_COLUMNS, [recipient_row("a", "Anna")], conflict=["external_id"]
    )
    recipient = Recipient.objects.get()
    assert (recipient.external_id, recipient.first_name) == ("a", "Anna")
    assert (recipient.attributes, recipient.created_at) == ({"city": "Казань"}, MOMENT)


def test_bulk_upsert_updates_only_the_named_columns_on_a_conflict():
    make_recipient(external_id="a", first_name="Old", phone="+100")
    bulk_upsert(
        Recipient,
        RECIPIENT_COLUMNS,
        [recipient_row("a", "New", phone="+200")],
        conflict=["external_id"],
        update=["first_name"],
    )
    recipient = Recipient.objects.get()
    assert (recipient.first_name, recipient.phone) == ("New", "+100")


def test_bulk_upsert_without_update_columns_leaves_a_conflicting_row_alone():
    recipient = make_recipient()
    audience = make_audience(recipient)
    added = AudienceMember.objects.get().added_at
    bulk_upsert(
        AudienceMember,
        ["audience_id", "recipient_id", "added_at"],
        [(audience.pk, recipient.pk, db_timestamp(MOMENT + timedelta(days=1)))],
        conflict=["audience_id", "recipient_id"],
    )
    assert list(AudienceMember.objects.values_list("added_at", flat=True)) == [added]


def test_bulk_upsert_of_no_rows_sends_no_statement():
    with CaptureQueriesContext(connection) as queries:
        bulk_upsert(Recipient, RECIPIENT_COLUMNS, [], conflict=["external_id"])
    assert len(queries) == 0


def test_bulk_upsert_stores_every_row_of_a_batch_over_the_parameter_limit():
    bulk_upsert(
        Recipient,
        RECIPIENT_COLUMNS,
        [recipient_row(f"r{i}") for i in range(MANY)],
        conflict=["external_id"],
    )
    assert Recipient.objects.count() == MANY


# --- bulk_update --------------------------------------------------------------------------


def test_bulk_update_sets_each_rows_own_values_and_returns_their_ids():
    first, second = deliveries(2)
    updated = bulk_update(
        Delivery,
        ["status", "content", "sent_at"],
        [
            (first.pk, "sent", db_json({"body": "один"}), db_timestamp(MOMENT)),
            (second.pk, "failed", None, None),
        ],
    )
    assert sorted(updated) == [first.pk, second.pk]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.content, first.sent_at) == ("sent", {"body": "один"}, MOMENT)
    assert (second.status, second.content, second.sent_at) == ("failed", None, None)


def test_bulk_update_sets_the_same_columns_to_one_value_on_every_row():
    rows = deliveries(3)
    bulk_update(
        Delivery,
        ["status"],
        [(d.pk, "sent") for d in rows],
        same={"error": "", "updated_at": db_timestamp(MOMENT)},
    )
    assert set(Delivery.objects.values_list("status", "updated_at")) == {("sent", MOMENT)}


def test_bulk_update_leaves_rows_that_fail_the_condition_alone_and_does_not_return_them():
    held, released = deliveries(2)
    Delivery.objects.filter(pk=held.pk).update(status="sending")
    quote = connection.ops.quote_name
    updated = bulk_update(
        Delivery,
        ["status"],
        [(held.pk, "sent"), (released.pk, "sent")],
        where=f"{quote('status')} = %s",
        params=["sending"],
    )
    assert updated == [held.pk]
    assert dict(Delivery.objects.values_list("pk", "status")) == {
        held.pk: "sent",
        released.pk: "pending",
    }


def test_bulk_update_of_no_rows_sends_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert bulk_update(Delivery, ["status"], []) == []
    assert len(queries) == 0


def test_bulk_update_changes_every_row_of_a_batch_over_the_parameter_limit():
    rows = deliveries(MANY)
    updated = bulk_update(
        Delivery, ["status", "error"], [(d.pk, "failed", f"e{d.pk}") for d in rows]
    )
    assert len(updated) == MANY
    assert all(error == f"e{pk}" for pk, error in Delivery.objects.values_list("pk", "error"))


# --- bulk_insert_objects ------------------------------------------------------------------


def test_bulk_insert_objects_fills_defaults_and_returns_what_was_asked():
    returned = bulk_insert_objects(
        DeliveryEvent,
        [DeliveryEvent(type="sms_sent", dedup_key="k1", occurred_at=MOMENT, data={"x": "ё"})],
        returning=["dedup_key", "id"],
    )
    event = DeliveryEvent.objects.get()
    assert returned == [("k1", event.pk)]
    assert (event.occurred_at, event.data, event.detail, event.created_at is not None) == (
        MOMENT,
        {"x": "ё"},
        "",
        True,
    )


def test_bulk_insert_objects_skips_conflicting_rows_and_returns_only_those_inserted():
    bulk_insert_objects(DeliveryEvent, [DeliveryEvent(type="sms_sent", dedup_key="old")])
    returned = bulk_insert_objects(
        DeliveryEvent,
        [DeliveryEvent(type="sms_sent", dedup_key=key) for key in ("old", "new")],
        conflict=["dedup_key"],
        returning=["dedup_key"],
    )
    assert returned == [("new",)]
    assert DeliveryEvent.objects.count() == 2


def test_bulk_insert_objects_of_no_objects_sends_no_statement():
    with CaptureQueriesContext(connection) as queries:
        assert bulk_insert_objects(DeliveryEvent, [], returning=["id"]) == []
    assert len(queries) == 0


def test_bulk_insert_objects_returns_every_row_of_a_batch_over_the_parameter_limit():
    returned = bulk_insert_objects(
        DeliveryEvent,
        [DeliveryEvent(type="sms_sent", dedup_key=f"k{i}") for i in range(MANY)],
        conflict=["dedup_key"],
        returning=["dedup_key"],
    )
    assert sorted(key for (key,) in returned) == sorted(f"k{i}" for i in range(MANY))
    assert DeliveryEvent.objects.count() == MANY


# --- The statements each database gets ----------------------------------------------------


def test_sqlite_gets_several_insert_statements_for_a_batch_over_the_parameter_limit():
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite's parameter limit")
    with CaptureQueriesContext(connection) as queries:
        bulk_insert(DeliveryEvent, EVENT_COLUMNS, [event_row(str(i)) for i in range(MANY)])
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) > 1


def test_postgresql_gets_one_statement_for_an_update_of_many_rows(postgres_only):
    rows = deliveries(MANY)
    with CaptureQueriesContext(connection) as queries:
        bulk_update(Delivery, ["error"], [(d.pk, f"e{d.pk}") for d in rows])
    # One UPDATE, between the planner setting that keeps its join a hash join and its reset.
    assert [q["sql"].split()[0] for q in queries] == ["SET", "UPDATE", "SET"]


def test_postgresql_joins_the_rows_to_their_values_by_a_hash_not_a_nested_loop(postgres_only):
    # A claim's condition looks to the planner like a row or two; joined in a nested loop, each
    # row was compared with every value (1,000 results: 190 ms, against 16 ms hashed).
    rows = deliveries(MANY)
    plans = []

    def explain(execute, sql, params, many, context):
        if sql.startswith("UPDATE"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(line for (line,) in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        bulk_update(
            Delivery,
            ["error"],
            [(d.pk, f"e{d.pk}") for d in rows],
            where='"status" = %s',
            params=["pending"],
        )
    (plan,) = plans
    assert "Nested Loop" not in plan, plan
    assert "Hash Join" in plan, plan
