"""/api/deliveries/ and /api/events/: read-only, filtered, cursor pages; and the schema."""

import pytest

from notifications.models import Delivery, DeliveryEvent
from tests.factories import make_campaign, make_recipient

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    campaign, other = make_campaign(), make_campaign()
    anna, boris = make_recipient(external_id="anna"), make_recipient(external_id="boris")
    sent = Delivery.objects.create(campaign=campaign, recipient=anna, status="sent")
    Delivery.objects.create(campaign=campaign, recipient=boris, status="failed")
    Delivery.objects.create(campaign=other, recipient=anna, status="sent")
    DeliveryEvent.objects.create(type="sent", campaign=campaign, delivery=sent, recipient=anna)
    DeliveryEvent.objects.create(type="sms_click", campaign=campaign, recipient=anna)
    return campaign


def test_deliveries_filter_by_campaign_status_and_recipient(api, history):
    results = api.get(f"/api/deliveries/?campaign={history.pk}&status=sent").json()["results"]
    assert [(d["recipient_external_id"], d["status"]) for d in results] == [("anna", "sent")]
    results = api.get("/api/deliveries/?recipient_external_id=anna").json()["results"]
    assert len(results) == 2


def test_deliveries_come_in_cursor_pages(api, history):
    page = api.get("/api/deliveries/?page_size=2").json()
    assert len(page["results"]) == 2
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert rest["next"] is None


def test_events_filter_by_type(api, history):
    results = api.get("/api/events/?type=sms_click").json()["results"]
    assert [e["type"] for e in results] == ["sms_click"]


def test_a_bad_time_range_is_400(api):
    response = api.get("/api/events/?since=yesterday")
    assert response.status_code == 400
    assert list(response.json()) == ["since"]


def test_history_cannot_be_written(api, history):
    assert api.post("/api/deliveries/", {}, format="json").status_code == 405


def test_the_schema_and_the_offline_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/messages/" in schema.content
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
