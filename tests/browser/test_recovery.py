"""Recovering from a content mistake in a real browser: a message that fails for people
without a city, fixed in the template, taken as the campaign's next version, and the failed
sent again with the new text; then the campaign copied as a new draft."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect

from emulator.wire import text_hash

from .conftest import LiveProduct
from .test_campaign_desk import DONE_SECONDS, confirm, log_in, shot

NARROW = {"width": 390, "height": 844}


def seed(live: LiveProduct) -> int:
    # Addresses 920000+: the browser tests share one live database, and each keeps to a range
    # of LeadConverter addresses of its own (the segment test's import uses 910001-910005).
    return int(
        live.shell(
            """
from notifications.models import *
audience = Audience.objects.create(name="Recovery audience", size=6)
for i in range(6):
    r = Recipient.objects.create(
        external_id=f"rec-{i}", first_name=f"P{i}",
        attributes={"city": "Kazan"} if i % 2 else {},
    )
    Address.objects.create(recipient=r, channel="leadconverter", value=str(920000 + i))
    AudienceMember.objects.create(audience=audience, recipient=r)
RecipientAttribute.objects.get_or_create(name="city")
template = MessageTemplate.objects.create(name="Recovery text", body="Sale in {{ city }}")
campaign = Campaign.objects.create(name="Recovery", channel="leadconverter", template=template)
campaign.audiences.add(audience)
print(campaign.pk)
"""
        ).splitlines()[-1]
    )


def accepted_texts(live: LiveProduct) -> dict[str, list[str]]:
    url = f"{live.emulator_url}/_emulator/messages?provider=leadconverter"
    with urllib.request.urlopen(url, timeout=5) as reply:
        texts: dict[str, list[str]] = {}
        for message in json.load(reply):
            texts.setdefault(message["address"], []).append(message["text_hash"])
        return texts


def test_fix_the_message_retry_the_failed_and_copy_the_campaign(
    page: Page, live: LiveProduct, screenshots: Path
):
    campaign_id = seed(live)
    campaign_url = f"/admin/notifications/campaign/{campaign_id}/change/"
    log_in(page, "boss")
    page.goto(campaign_url)

    # The confirmation counts, exactly, who cannot get this message.
    page.locator(".object-tools").get_by_role("link", name="Dispatch now").click()
    expect(page.locator("#transition-notes")).to_contain_text(
        "3 of the 6 reachable recipients cannot get this message"
    )
    page.get_by_role("button", name="Yes, dispatch").click()
    progress = page.locator("#campaign-progress")
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=DONE_SECONDS * 1000)
    expect(page.locator("#funnel [data-live-count=failed]")).to_have_text("3")

    # Fix the template.
    page.goto("/admin/notifications/messagetemplate/?q=Recovery")
    page.get_by_role("link", name="Recovery text").click()
    page.fill("#id_body", "Sale in {{ city | default: 'your city' }}")
    page.click("input[name=_save]")

    # Retrying now would send version 1 again: the question says so and links to the fix.
    page.goto(campaign_url)
    expect(page.locator("#message-version")).to_contain_text("has changed since")
    page.locator(".object-tools").get_by_role("link", name="Retry 3 failed").click()
    expect(page.locator("#transition-question")).to_contain_text("again with version 1")
    notes = page.locator("#transition-notes")
    expect(notes).to_contain_text("3 of the 3 failed because of the message itself")
    expect(notes).to_contain_text("3 of them still cannot get it")
    shot(page, screenshots, "40-retry-warns")
    notes.get_by_role("link", name="Edit the message").first.click()

    # Take the template's new text as version 2, previewed for the people it goes to.
    page.get_by_role("button", name="Take its text").click()
    expect(page.locator("#id_body")).to_have_value("Sale in {{ city | default: 'your city' }}")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#content-previews")).to_contain_text("Sale in your city")
    expect(page.locator("#content-unrenderable")).to_have_count(0)
    shot(page, screenshots, "41-message-version", full_page=True)
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".messagelist")).to_contain_text("Version 2 of the message is saved")

    confirm(page, "Retry 3 failed")
    expect(page.locator(".messagelist")).to_contain_text("with version 2 of the message")
    expect(progress.locator(".badge")).to_have_text("Completed", timeout=DONE_SECONDS * 1000)
    expect(page.locator("#funnel [data-live-count=sent]")).to_have_text("6")
    shot(page, screenshots, "42-retried", full_page=True)

    # They arrived with the new text; the others got the first version once.
    texts = accepted_texts(live)
    for i in range(6):
        address = str(920000 + i)
        expected = "Sale in Kazan" if i % 2 else "Sale in your city"
        assert texts[address] == [text_hash(expected, "")], address

    # The versions page says who got which.
    page.get_by_role("link", name="See its versions").click()
    expect(page.locator("#version-2")).to_contain_text("3")
    expect(page.locator("#version-1")).to_contain_text("3")
    page.set_viewport_size(NARROW)
    shot(page, screenshots, "43-versions-390", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Copy: a new draft with the same message and audience.
    page.goto(campaign_url)
    confirm(page, "Copy")
    expect(page.locator(".messagelist")).to_contain_text("'Copy of Recovery' is a new draft")
    expect(page.locator("#send-plan")).to_contain_text("6 LeadConverter messages")
    expect(page.locator("#previews")).to_contain_text("Sale in your city")
    shot(page, screenshots, "44-copy", full_page=True)
