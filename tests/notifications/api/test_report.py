"""GET /api/campaigns/{id}/report/: the campaign page's counts, rates and clicks by link."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from notifications.models import Campaign, Delivery, DeliveryEvent
from notifications.sending.counters import counters_rebuild
from tests.factories import make_campaign, make_recipient
from tests.notifications.admin.test_numbers import _page_numbers, _shares

from .conftest import session_of, staff_with

pytestmark = pytest.mark.django_db

SALE = "https://shop.test/sale"


@pytest.fixture
def campaign() -> Campaign:
    """Completed: 5 sent, 2 failed, 1 unknown, 2 skipped; SMS 1 to 4 sent, SMS 4 lost; SMS 1
    clicked twice on the sale, SMS 2 once on no link, SMS 9 (no recipient yet) on the sale."""
    campaign = make_campaign(
        channel="yandex_market", status="completed", content={"body": "Hi"}, sendios_project_id=1
    )
    statuses = ["sent"] * 5 + ["failed"] * 2 + ["unknown", "skipped", "skipped"]
    made = [
        Delivery.objects.create(campaign=campaign, recipient=make_recipient(), status=status)
        for status in statuses
    ]
    counters_rebuild(campaign_id=campaign.pk)

    def sms(kind: str, sms_id: int, delivery: Delivery | None, link: str = "") -> None:
        DeliveryEvent.objects.create(
            type=kind,
            campaign=campaign,
            delivery=delivery,
            recipient_id=delivery.recipient_id if delivery else None,
            sms_id=sms_id,
            link=link,
        )

    for number in range(1, 5):
        sms("sms_sent", number, made[number - 1])
    sms("sms_lost", 4, made[3])
    sms("sms_click", 1, made[0], SALE)
    sms("sms_click", 1, made[0], SALE)
    sms("sms_click", 2, made[1])
    sms("sms_click", 9, None, SALE)
    return campaign


def test_the_report_gives_counts_rates_and_clicks_by_link(api, campaign):
    response = api.get(f"/api/campaigns/{campaign.pk}/report/")

    assert response.status_code == 200
    report = response.json()
    assert report["deliveries"]["sent"] == 5
    assert report["reachable"] == 8
    assert report["sms"] == {
        "sent": 5,
        "lost": 1,
        "delivered": 4,
        "clicked": 3,
        "click_through_rate": 0.75,
    }
    assert report["rates"]["sent"] == {"numerator": 5, "denominator": 8, "ratio": 0.625}
    assert report["rates"]["click_through"] == {"numerator": 3, "denominator": 4, "ratio": 0.75}
    assert report["links"] == [
        {"link": SALE, "clickers": 2, "clicks": 3},
        {"link": "", "clickers": 1, "clicks": 1},
    ]


def test_the_report_says_what_the_campaign_page_says(api, admin_client, campaign):
    page = admin_client.get(
        reverse("admin:notifications_campaign_change", args=[campaign.pk])
    ).content.decode()
    numbers = {label: number for label, (number, _) in _page_numbers(page).items()}
    shares = _shares(page)
    report = api.get(f"/api/campaigns/{campaign.pk}/report/").json()
    rates = report["rates"]

    def percent(name: str) -> str:
        return f"{rates[name]['ratio'] * 100:.1f}".removesuffix(".0")

    assert numbers["funnel: Sent"] == rates["sent"]["numerator"]
    assert numbers["funnel: Failed"] == rates["failed"]["numerator"]
    assert numbers["funnel: Unknown (may have arrived)"] == rates["unknown"]["numerator"]
    assert numbers["sms funnel: SMS sent"] == rates["sms_delivered"]["denominator"]
    assert numbers["sms funnel: Lost"] == rates["sms_lost"]["numerator"]
    assert numbers["sms funnel: Delivered"] == rates["sms_delivered"]["numerator"]
    assert numbers["sms funnel: Clicked"] == rates["click_through"]["numerator"]
    assert shares["Sent"] == f"{percent('sent')} % of reachable"
    assert shares["Failed"] == f"{percent('failed')} % of reachable"
    assert shares["Lost"] == f"{percent('sms_lost')} % of SMS sent"
    assert shares["Clicked"] == f"{percent('click_through')} % of delivered"
    for row in report["links"]:
        label = row["link"] or "(no link)"
        assert numbers[f"link {label}: people"] == row["clickers"]
        assert numbers[f"link {label}: clicks"] == row["clicks"]


def test_a_campaign_with_nothing_to_divide_by_has_null_ratios(api):
    campaign = make_campaign(status="completed")

    rates = api.get(f"/api/campaigns/{campaign.pk}/report/").json()["rates"]

    assert rates["sent"] == {"numerator": 0, "denominator": 0, "ratio": None}
    assert rates["click_through"]["ratio"] is None


def test_a_read_only_key_may_read_the_report(reader, campaign):
    assert reader.get(f"/api/campaigns/{campaign.pk}/report/").status_code == 200


def test_staff_who_may_view_campaigns_may_read_the_report(campaign):
    client = session_of(staff_with("view_campaign"))
    assert client.get(f"/api/campaigns/{campaign.pk}/report/").status_code == 200


def test_staff_who_may_not_view_campaigns_may_not_read_the_report(campaign):
    client = session_of(staff_with("view_recipient"))
    assert client.get(f"/api/campaigns/{campaign.pk}/report/").status_code == 403


def test_the_report_needs_a_key(campaign):
    assert APIClient().get(f"/api/campaigns/{campaign.pk}/report/").status_code == 401


def test_the_report_of_a_campaign_that_does_not_exist_is_404(api):
    assert api.get("/api/campaigns/999999/report/").status_code == 404


def test_the_report_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/campaigns/{id}/report/"]["get"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/CampaignReport"}
    report = schema["components"]["schemas"]["CampaignReport"]
    assert set(report["properties"]) == {
        "campaign",
        "status",
        "deliveries",
        "reachable",
        "sms",
        "rates",
        "links",
    }
