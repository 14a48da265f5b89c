"""Scheduling in a named time zone, in a real browser: a person in Vladivostok picks their zone,
schedules a campaign with the browser's picker, moves it, and takes it back to a draft.

Screenshots at 1280x800 and 390 px wide go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from .conftest import LiveProduct
from .test_campaign_desk import log_in, seed_campaign, shot

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
PHONE = {"width": 390, "height": 844}


def both_widths(page: Page, folder: Path, name: str) -> None:
    """A screenshot as on a laptop, then as on a phone, and back."""
    shot(page, folder, name)
    page.set_viewport_size(PHONE)
    shot(page, folder, f"{name}-390", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def action(page: Page, label: str) -> None:
    page.locator(".object-tools").get_by_role("link", name=label, exact=True).click()
    expect(page.locator("#transition-question")).to_be_visible()


def test_schedule_in_vladivostok_then_reschedule_then_back_to_draft(
    page: Page, live: LiveProduct, screenshots: Path
):
    log_in(page, "boss")
    campaign_id = seed_campaign(live, "Morning in Vladivostok", 4, 790000)

    # The zone, from the links at the top of every page.
    page.locator("#time-zone-link").click()
    expect(page.locator("#time-zone-now")).to_be_visible()
    page.select_option("#id_time_zone", "Asia/Vladivostok")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#time-zone-link")).to_have_text("Times in Asia/Vladivostok")
    expect(page.locator("#time-zone-now")).to_contain_text("Asia/Vladivostok, UTC+10:00")
    both_widths(page, screenshots, "20-your-time-zone")

    # Tomorrow at 09:00 in Vladivostok, with the browser's own picker.
    tomorrow = (datetime.now(VLADIVOSTOK) + timedelta(days=1)).date()
    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    action(page, "Schedule…")
    picker = page.locator("#id_scheduled_at")
    expect(picker).to_have_attribute("type", "datetime-local")
    expect(page.locator(".time-zone")).to_have_text("Asia/Vladivostok, UTC+10:00")
    picker.fill(f"{tomorrow:%Y-%m-%d}T09:00")
    both_widths(page, screenshots, "21-schedule-with-the-picker")
    page.locator(".submit-row input[type=submit]").click()
    day = f"{tomorrow.day} {tomorrow:%b}"
    expect(page.locator(".messagelist")).to_contain_text(f"is scheduled for {day}, 09:00 (in ")

    # The list says how soon it starts, in the person's zone.
    page.goto("/admin/notifications/campaign/")
    row = page.locator("#result_list tr", has_text="Morning in Vladivostok")
    expect(row).to_contain_text(re.compile(rf"Scheduled in \d+ h( \d+ min)? — {day}, 09:00"))
    both_widths(page, screenshots, "22-list-scheduled-in")

    # Reschedule: the picker starts from the time set, and moves to 10:00.
    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    action(page, "Reschedule…")
    expect(page.locator("#id_scheduled_at")).to_have_value(f"{tomorrow:%Y-%m-%d}T09:00")
    page.locator("#id_scheduled_at").fill(f"{tomorrow:%Y-%m-%d}T10:00")
    page.locator(".submit-row input[type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text(f"is rescheduled for {day}, 10:00 (in ")

    # Back to draft: nothing was sent, and the campaign can be edited again.
    action(page, "Back to draft")
    expect(page.locator("#transition-question")).to_contain_text("Nothing has been sent yet")
    both_widths(page, screenshots, "23-back-to-draft")
    page.locator(".submit-row input[type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text("is a draft again")
    expect(page.locator(".field-status")).to_contain_text("Draft")
    expect(page.locator("input[name=_save]")).to_be_visible()
    expect(page.locator(".object-tools")).to_contain_text("Schedule…")
    both_widths(page, screenshots, "24-draft-again")
