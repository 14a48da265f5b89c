"""The campaign page's timeline follows a send in a real browser: while a campaign sends to the
provider emulator (LeadConverter at 5 requests a second, 2 messages each), the chart's legend
and its numbers grow without the page being reloaded, and an opened numbers table stays open.

Screenshot: test-artifacts/screenshots/timeline-live.png.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import LiveProduct
from .test_campaign_desk import confirm, log_in, seed_campaign, shot

SENT = re.compile(r"Sent: ([\d,]+)")


def sent_in_legend(page: Page) -> int:
    found = SENT.search(page.locator("#timeline .legend").inner_text())
    return int(found.group(1).replace(",", "")) if found else 0


def test_the_timeline_grows_while_a_campaign_sends_without_a_reload(
    page: Page, live: LiveProduct, screenshots: Path
):
    # 400 messages in 200 requests at 5 a second: 40 s, long enough for a few refreshes.
    campaign_id = seed_campaign(live, "Timeline", 400, first_address=940_000)
    log_in(page, "boss")
    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    confirm(page, "Dispatch now")
    expect(page.locator("#live-state")).to_contain_text(re.compile(r"^Sending"), timeout=20_000)
    # The page as loaded once sending began; a reload would drop this mark.
    page.reload()
    expect(page.locator("#timeline .legend")).to_contain_text("Sent:", timeout=20_000)
    page.evaluate("window.loadedOnce = true")
    page.locator("#timeline details.chart-numbers summary").first.click()
    before = sent_in_legend(page)

    legend = page.locator("#timeline .legend").first
    expect(legend).not_to_have_text(re.compile(rf"Sent: {before:,}(?!\d)"), timeout=25_000)
    after = sent_in_legend(page)
    assert after > before
    assert page.evaluate("window.loadedOnce") is True
    expect(page.locator("#timeline details.chart-numbers").first).to_have_attribute("open", "")
    shot(page, screenshots, "timeline-live", full_page=True)
