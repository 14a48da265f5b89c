"""On PostgreSQL an event's id is taken before its transaction commits: the fan-out must not
read past an id whose transaction is still open, or that event would be skipped for good."""

import json

import psycopg
import pytest
from django.db import connection

from notifications.models import DeliveryEvent
from outbound.fanout import events_fan_out
from outbound.models import Cursor, Message

pytestmark = [pytest.mark.django_db(transaction=True)]

INSERT = (
    "INSERT INTO notifications_deliveryevent "
    "(type, occurred_at, created_at, detail, data, link, sendios_user_id) "
    "VALUES ('campaign_status', now(), now(), %s, '{}', '', '') RETURNING id"
)


def test_an_event_committed_after_a_later_one_is_still_sent_first(postgres_only, endpoint_on):
    endpoint_on(events=["campaign.status"])
    DeliveryEvent.objects.create(type="campaign_status", detail="before")
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname=params["NAME"]
    ) as slow:
        (early_id,) = slow.execute(INSERT, ["early, committed late"]).fetchone()
        late = DeliveryEvent.objects.create(type="campaign_status", detail="late, committed first")
        assert late.pk > early_id
        for _ in range(6):
            events_fan_out()
        # Nothing at or after the open transaction's id has been read.
        assert Cursor.objects.get().event_id < early_id
        assert not Message.objects.filter(last_event_id__gte=early_id).exists()
        slow.commit()
    for _ in range(6):
        events_fan_out()
    read = [
        event["id"]
        for message in Message.objects.order_by("id")
        for event in json.loads(message.body)["events"]
    ]
    assert read[-2:] == [early_id, late.pk]


def test_a_long_transaction_in_another_database_does_not_hold_the_events_back(
    postgres_only, endpoint_on
):
    """The server's xmin is every database's: a report running for an hour in another database
    on the same server must not hold the webhooks back for that hour."""
    endpoint_on(events=["campaign.status"])
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres"
    ) as elsewhere:
        elsewhere.execute("SELECT pg_current_xact_id()")  # it holds an xid until it ends
        event = DeliveryEvent.objects.create(type="campaign_status", detail="now")
        for _ in range(6):
            events_fan_out()
        assert Message.objects.filter(last_event_id=event.pk).exists()
        elsewhere.rollback()
