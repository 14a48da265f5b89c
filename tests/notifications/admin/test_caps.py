"""Frequency caps on the campaign's pages: the draft's plan and the dispatch confirmation say
who is at a cap; a sending campaign's desk says how many a cap deferred (until when) or
skipped, each count the rows its link opens."""

import pytest
from django.urls import reverse

from notifications.admin.desk import deliveries_url
from notifications.admin.live import campaign_live
from notifications.models import Delivery
from tests.factories import make_audience, make_campaign
from tests.notifications.flows import sent_with

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def opened(staff, url: str) -> list[Delivery]:
    response = staff.get(url)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_desk_says_how_many_a_cap_deferred_and_until_when_at_the_latest(at_the_cap):
    live = campaign_live(sent_with(at_the_cap))
    # In the staff member's zone (the site's, UTC here): noon tomorrow.
    assert live["capped_text"] == "Deferred by frequency caps: 2, until 8 Dec, 09:00 at the latest"
    assert live["capped_skipped_text"] == ""
    assert live["counts"]["capped_deferred"] == 2


def test_the_deferred_count_is_the_rows_its_link_opens(at_the_cap, staff):
    campaign = sent_with(at_the_cap)
    rows = opened(staff, deliveries_url(campaign.pk, stage="capped"))
    assert len(rows) == campaign_live(campaign)["counts"]["capped_deferred"] == 2
    assert {row.recipient for row in rows} == set(at_the_cap[:2])
    assert {row.status for row in rows} == {"pending"}


def test_the_skipped_count_is_the_rows_its_link_opens(at_the_cap, staff):
    campaign = sent_with(at_the_cap, capped_action="skip")
    live = campaign_live(campaign)
    assert live["capped_skipped_text"] == "Skipped by frequency caps: 2"
    assert live["capped_text"] == ""
    rows = opened(staff, deliveries_url(campaign.pk, stage="capped_skipped"))
    assert len(rows) == live["counts"]["capped_skipped"] == 2
    assert {row.status for row in rows} == {"skipped"}


def test_the_desk_links_both_lines_to_their_rows(at_the_cap, staff):
    campaign = sent_with(at_the_cap)
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "Deferred by frequency caps: 2" in html
    assert deliveries_url(campaign.pk, stage="capped").replace("&", "&amp;") in html


def test_the_drafts_plan_counts_those_at_a_cap(at_the_cap, staff):
    campaign = make_campaign(make_audience(*at_the_cap), channel="leadconverter")
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    plan = page.context["desk"]["plan"]
    assert (plan.capped.count, plan.reachable) == (2, 3)
    assert "At a frequency cap now: deferred" in page.content.decode()


def test_the_dispatch_confirmation_says_who_a_cap_holds(at_the_cap, staff):
    deferring = make_campaign(make_audience(*at_the_cap), channel="leadconverter")
    url = reverse("admin:notifications_campaign_transition", args=[deferring.pk, "dispatch"])
    assert staff.get(url).context["plan_holds"] == [
        "At a frequency cap now: 2, deferred until 8 Dec, 09:00 (in 23 h) at the latest."
    ]
    skipping = make_campaign(
        make_audience(*at_the_cap), channel="leadconverter", capped_action="skip"
    )
    url = reverse("admin:notifications_campaign_transition", args=[skipping.pk, "dispatch"])
    response = staff.get(url)
    assert response.context["plan_holds"] == ["At a frequency cap now: 2, skipped."]
    assert f"'{skipping.name}' to 1 recipient" in response.context["question"]


def test_a_campaign_with_caps_off_says_so(at_the_cap, staff):
    campaign = make_campaign(make_audience(*at_the_cap), channel="leadconverter", caps_on=False)
    url = reverse("admin:notifications_campaign_transition", args=[campaign.pk, "dispatch"])
    assert staff.get(url).context["plan_holds"] == ["Frequency caps are off for this campaign."]
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    assert "Frequency caps are off for this campaign" in page.content.decode()


def test_a_plan_that_skips_the_capped_still_counts_its_reachable_as_the_link_opens(
    at_the_cap, staff
):
    campaign = make_campaign(
        make_audience(*at_the_cap), channel="leadconverter", capped_action="skip"
    )
    page = staff.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    desk = page.context["desk"]
    # Three reachable (the link's list), two of them skipped by the cap: one message.
    assert (desk["plan"].reachable_people, desk["plan"].reachable) == (3, 1)
    listed = staff.get(desk["links"]["reachable"])
    assert listed.context["cl"].result_count == 3
    assert "1 LeadConverter message" in page.content.decode()
