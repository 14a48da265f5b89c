"""GET /api/campaigns/compare/?ids=: campaigns' counts and rates side by side, as each one's
report gives them."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.campaigns.compare import MAX_COMPARED
from notifications.models import Campaign, Delivery
from notifications.sending.counters import counters_rebuild
from tests.factories import make_campaign, make_recipient

from .conftest import session_of, staff_with

pytestmark = pytest.mark.django_db

URL = "/api/campaigns/compare/"


@pytest.fixture
def started() -> Campaign:
    """Completed: 3 sent, 1 failed, 1 skipped."""
    campaign = make_campaign(name="Started", status="completed", materialised_at=timezone.now())
    for status in ["sent"] * 3 + ["failed", "skipped"]:
        Delivery.objects.create(campaign=campaign, recipient=make_recipient(), status=status)
    counters_rebuild(campaign_id=campaign.pk)
    return campaign


@pytest.fixture
def draft() -> Campaign:
    return make_campaign(name="Draft")


def test_the_comparison_gives_each_campaigns_report_in_the_order_asked(api, started, draft):
    response = api.get(URL, {"ids": f"{draft.pk},{started.pk}"})
    assert response.status_code == 200
    first, second = response.json()["campaigns"]
    assert (first["campaign"], first["name"], first["report"]) == (draft.pk, "Draft", None)
    assert second["campaign"] == started.pk
    assert second["report"]["reachable"] == 4
    assert second["report"]["rates"]["sent"] == {"numerator": 3, "denominator": 4, "ratio": 0.75}


def test_each_campaign_reads_as_its_own_report_does(api, started, draft):
    compared = api.get(URL, {"ids": f"{started.pk},{draft.pk}"}).json()["campaigns"][0]
    report = api.get(f"/api/campaigns/{started.pk}/report/").json()
    for key in ("deliveries", "reachable", "sms", "rates"):
        assert compared["report"][key] == report[key]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({}, "This field is required."),
        ({"ids": "1,two"}, "Give campaign ids as numbers separated by commas."),
        ({"ids": "1"}, "Choose at least 2 campaigns to compare."),
        ({"ids": "999998,999999"}, "No campaigns with the ids 999998, 999999."),
        (
            {"ids": ",".join(str(i) for i in range(1, MAX_COMPARED + 2))},
            f"Compare at most {MAX_COMPARED} campaigns at once ({MAX_COMPARED + 1} chosen).",
        ),
    ],
)
def test_bad_or_missing_ids_are_400_on_the_field_ids(api, query, says):
    response = api.get(URL, query)
    assert response.status_code == 400
    assert response.json() == {"ids": [says]}


def test_a_read_only_key_may_compare(reader, started, draft):
    assert reader.get(URL, {"ids": f"{started.pk},{draft.pk}"}).status_code == 200


def test_staff_who_may_view_campaigns_may_compare(started, draft):
    client = session_of(staff_with("view_campaign"))
    assert client.get(URL, {"ids": f"{started.pk},{draft.pk}"}).status_code == 200


def test_staff_who_may_not_view_campaigns_may_not_compare(started, draft):
    client = session_of(staff_with("view_recipient"))
    assert client.get(URL, {"ids": f"{started.pk},{draft.pk}"}).status_code == 403


def test_the_comparison_needs_a_key(started, draft):
    assert APIClient().get(URL, {"ids": f"{started.pk},{draft.pk}"}).status_code == 401


def test_the_comparison_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/campaigns/compare/"]["get"]
    assert [(p["name"], p["required"]) for p in operation["parameters"]] == [("ids", True)]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/CampaignComparison"}
    campaign = schema["components"]["schemas"]["ComparedCampaign"]
    assert set(campaign["properties"]) == {
        "campaign",
        "name",
        "channel",
        "status",
        "started_at",
        "report",
    }
