"""The campaign stats endpoint counts the deliveries frequency caps deferred and skipped, and
the schema says so."""

from datetime import timedelta

import pytest

from tests.notifications.flows import sent_with

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def test_stats_count_the_deliveries_a_cap_deferred(api, at_the_cap):
    campaign = sent_with(at_the_cap)
    stats = api.get(f"/api/campaigns/{campaign.pk}/stats/").json()
    assert (stats["capped_deferred"], stats["capped_skipped"]) == (2, 0)
    assert stats["deliveries"]["pending"] == 2
    # The rest waits for the cap: 23 hours until the last deferred may go.
    assert stats["eta_seconds"] == timedelta(hours=23).total_seconds()


def test_stats_count_the_deliveries_a_cap_skipped(api, at_the_cap):
    campaign = sent_with(at_the_cap, capped_action="skip")
    stats = api.get(f"/api/campaigns/{campaign.pk}/stats/").json()
    assert (stats["capped_deferred"], stats["capped_skipped"]) == (0, 2)
    assert stats["deliveries"]["skipped"] == 2


def test_the_schema_describes_the_capped_counts(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    stats = schema["components"]["schemas"]["CampaignStats"]
    assert {"capped_deferred", "capped_skipped"} <= set(stats["required"])
    assert stats["properties"]["capped_deferred"]["type"] == "integer"
