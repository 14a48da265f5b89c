"""A test send as staff make one: put yourself on your test list from the recipient list, send
a draft's test to the list in one click, and read each person's exact message and the
provider's (the emulator's) answer under the campaign."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import LiveProduct
from .test_campaign_desk import log_in, shot

DONE_SECONDS = 60


def draft_with_two_people(live: LiveProduct) -> int:
    return int(
        live.shell(
            """
from notifications.models import *
audience = Audience.objects.create(name="Test-send audience", size=0)
for name, phone in (("Anna", "710001"), ("Boris", "710002")):
    r = Recipient.objects.create(external_id=f"seed-{name.lower()}", first_name=name,
                                 last_name="Tester")
    Address.objects.create(recipient=r, channel="leadconverter", value=phone)
template = MessageTemplate.objects.create(name="Greeting", body="Hello {{ first_name }}")
campaign = Campaign.objects.create(name="Greeting", channel="leadconverter", template=template)
campaign.audiences.add(audience)
print(campaign.pk)
"""
        ).splitlines()[-1]
    )


def test_a_test_send_to_my_list_shows_each_persons_message_and_the_providers_answer(
    page: Page, live: LiveProduct, screenshots: Path
):
    campaign_id = draft_with_two_people(live)
    log_in(page, "boss")

    # Put both testers on my test list from the recipient list.
    page.goto("/admin/notifications/recipient/?q=Tester")
    for external_id in ("seed-anna", "seed-boris"):
        page.locator("#result_list tr", has_text=external_id).locator("input.action-select").check()
    page.select_option("select[name=action]", "add_to_my_test_list")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("Added 2 to your test list.")

    # The send page: the message and my list, both ticked; one click sends.
    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    page.locator(".object-tools").get_by_role("link", name="Send test…").click()
    expect(page.locator("#test-message")).to_contain_text("Hello {{ first_name }}")
    expect(page.locator("#test-list input[name=seeds]:checked")).to_have_count(2)
    shot(page, screenshots, "30-send-test", full_page=True)
    page.get_by_role("button", name="Send to my test list (2)").click()

    # The results under the campaign refresh by themselves until both are sent.
    results = page.locator("#test-sends")
    expect(page.locator(".messagelist")).to_contain_text("Test sent to 2 people")
    for name in ("anna", "boris"):
        card = results.locator(f"[data-recipient=seed-{name}]")
        expect(card.locator(".test-status")).to_have_text("Sent", timeout=DONE_SECONDS * 1000)
        expect(card.locator(".preview-body")).to_have_text(f"Hello {name.capitalize()}")
        expect(card.locator(".test-answer pre")).not_to_be_empty()
    expect(results).to_contain_text("All 1 test send")
    results.scroll_into_view_if_needed()
    shot(page, screenshots, "31-test-results")
    page.set_viewport_size({"width": 390, "height": 844})
    results.scroll_into_view_if_needed()
    shot(page, screenshots, "32-test-results-narrow")

    # The test send is not a campaign of the main list.
    page.goto("/admin/notifications/campaign/")
    expect(page.locator("#result_list")).not_to_contain_text("Test of Greeting")
