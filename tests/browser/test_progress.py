"""Progress that tells the truth, in a real browser: a campaign sending to the provider emulator
under LeadConverter's limit (5 requests a second, 2 messages each) says whether it is sending or
waiting for the provider's limit, with a time left at that limit; cancelled, its bar shows what
was sent and the cancelled part, never "done".

Screenshots at 1280x800 and 390 px wide: test-artifacts/screenshots/progress-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import VIEWPORT, LiveProduct
from .test_campaign_desk import confirm, log_in, seed_campaign, shot

PHONE = {"width": 390, "height": 844}
# Another client of the same provider account takes a turn that keeps ours this far away.
OTHERS_TURN_SECONDS = 25


def both_widths(page: Page, screenshots: Path, name: str) -> None:
    shot(page, screenshots, f"{name}-1280")
    page.set_viewport_size(PHONE)
    shot(page, screenshots, f"{name}-390", full_page=True)
    page.set_viewport_size(VIEWPORT)


def take_the_accounts_next_turn(live: LiveProduct) -> None:
    live.shell(
        f"""
from notifications.providers.registry import build_provider
from notifications.sending.limiter import Rule, get_limiter
key = "leadconverter:" + build_provider("leadconverter").account
get_limiter().backend.reserve(
    key, Rule(interval={OTHERS_TURN_SECONDS}, burst=1, parallel=None), 120
)
"""
    )


def test_a_limited_send_says_what_it_waits_for_and_a_cancel_is_not_done(
    page: Page, live: LiveProduct, screenshots: Path
):
    # 300 messages in 150 requests at 5 a second: half a minute.
    campaign_id = seed_campaign(live, "Progress", 300, first_address=800_000)
    log_in(page, "boss")
    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    confirm(page, "Dispatch now")
    progress = page.locator("#campaign-progress")
    state = progress.locator("#live-state")

    # Sending at the provider's limit, with the time left at that limit.
    expect(state).to_contain_text(re.compile(r"^Sending"), timeout=20_000)
    expect(progress.locator("#time-left")).to_have_text(re.compile(r"under a minute|≈ \d+ min"))
    expect(progress.locator("[data-live=eta_basis]")).to_have_text(
        "at the provider's limit of 5/second"
    )
    both_widths(page, screenshots, "progress-sending")

    # Someone else on the account used the next turn: the page says it waits, and how long.
    take_the_accounts_next_turn(live)
    expect(state).to_contain_text(
        re.compile(r"Waiting for the provider's limit: next request in \d+ s\."), timeout=15_000
    )
    expect(state).not_to_have_class(re.compile("errornote"))
    expect(progress.locator("#time-left")).not_to_have_text("—")
    sent_before = int(page.locator("#funnel [data-live-count=sent]").inner_text().replace(",", ""))
    assert sent_before < 300
    both_widths(page, screenshots, "progress-waiting")

    # Cancelled: the bar shows what went out and the cancelled part, not a full "done" bar.
    confirm(page, "^Cancel$")
    expect(progress.locator(".badge")).to_have_text("Cancelled")
    headline = progress.locator("[data-live=headline]")
    expect(headline).to_have_text(re.compile(r"^Cancelled — \d+ of 300 sent$"))
    sent = int(re.findall(r"\d+", headline.inner_text().replace(",", ""))[0])
    assert sent < 300
    cancelled = progress.locator("[data-live-part=cancelled]")
    assert float(cancelled.get_attribute("style").split(":")[1].strip(" %;")) > 0
    expect(page.locator("body")).not_to_contain_text("100 %")
    both_widths(page, screenshots, "progress-cancelled")

    page.goto("/admin/notifications/campaign/")
    row = page.locator("#result_list tbody tr", has_text="Progress")
    expect(row.locator(".badge")).to_have_text("Cancelled")
    expect(row).to_contain_text(f"{sent} of 300 sent")
    both_widths(page, screenshots, "progress-list")
