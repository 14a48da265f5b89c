"""The dashboard staff land on after logging in, in a real browser: on an empty install (the
three first steps) and with a campaign sending (its progress), at desktop and phone widths.

Screenshots go to test-artifacts/screenshots/ (dashboard-*.png) for people to look at.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import PASSWORD, VIEWPORT, LiveProduct

PHONE = {"width": 390, "height": 844}
# Pixels a page may be wider than the window before it counts as overflowing (a scrollbar's
# rounding).
OVERFLOW_TOLERANCE = 2
PROGRESS_SECONDS = 30

# The browser tests share one live product: this empties it of the product's own rows (staff
# logins stay), as a new install is. Written directly, as a test's starting rows are.
FRESH_INSTALL = """
from notifications.models import *
Campaign.objects.all().delete()
DeliveryEvent.objects.all().delete()
MessageTemplate.objects.all().delete()
Audience.objects.all().delete()
Recipient.objects.all().delete()
RecipientAttribute.objects.all().delete()
"""

SEND_TO_CLUB = """
from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.campaigns.services import campaign_save
from notifications.models import Audience, MessageTemplate
campaign = campaign_save(
    campaign_id=None,
    data={"name": "Club reminder", "channel": "leadconverter",
          "template": MessageTemplate.objects.get(name__startswith="Order reminder")},
    audiences=[Audience.objects.get(name="Loyalty club")],
)
campaign_dispatch(campaign_id=campaign.pk)
print(campaign.pk)
"""


def fresh_install(live: LiveProduct) -> None:
    live.shell(FRESH_INSTALL)


def log_in(page: Page, username: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def overflow(page: Page) -> int:
    """How many pixels the page is wider than its window."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def both_widths(page: Page, folder: Path, name: str) -> None:
    """Screenshots at desktop and phone width; at phone width nothing may stick out sideways."""
    page.set_viewport_size(VIEWPORT)
    page.screenshot(path=folder / f"{name}-1280.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    page.screenshot(path=folder / f"{name}-390.png", full_page=True)
    assert overflow(page) <= OVERFLOW_TOLERANCE, f"{name} overflows at 390 px"
    page.set_viewport_size(VIEWPORT)


def test_an_empty_install_shows_three_steps_to_a_first_campaign(
    page: Page, live: LiveProduct, screenshots: Path
):
    fresh_install(live)
    log_in(page, "boss")
    steps = page.locator("#first-steps li")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("Import recipients")
    expect(steps.nth(1)).to_contain_text("Write a template")
    expect(steps.nth(2)).to_contain_text("Create a campaign")
    expect(page.locator("#first-steps .step-done")).to_have_count(0)
    expect(page.locator("#running")).to_contain_text("Nothing is being sent right now.")
    # The models, grouped as staff work: campaigns first, the engineers' pages last.
    captions = page.locator(".dashboard-models caption")
    expect(captions.first).to_have_text("Campaigns")
    expect(captions.last).to_have_text("Administration")
    both_widths(page, screenshots, "dashboard-empty")

    page.locator("#step-1").get_by_role("link", name="Import recipients").click()
    expect(page).to_have_url(re.compile(r"/admin/notifications/audience/import/$"))


def test_a_sending_campaign_shows_its_progress(page: Page, live: LiveProduct, screenshots: Path):
    fresh_install(live)
    live.manage("demo_data")
    live.shell(SEND_TO_CLUB)
    log_in(page, "boss")
    row = page.locator("#running li", has_text="Club reminder")
    # Materialisation runs on the worker: until it has, the row says it is preparing.
    deadline = time.monotonic() + PROGRESS_SECONDS
    while not row.locator(".progress-text").count() and time.monotonic() < deadline:
        page.wait_for_timeout(300)
        page.reload()
    expect(row.locator(".progress-text")).to_have_text(re.compile(r"^\d+ of \d+ done$"))
    expect(row.locator("[role=progressbar]")).to_be_visible()
    expect(page.locator("#first-steps")).to_have_count(0)
    expect(page.locator("#finished tbody tr")).to_have_count(4)
    expect(page.locator("#provider-health")).to_contain_text("LeadConverter")
    both_widths(page, screenshots, "dashboard-sending")

    row.get_by_role("link", name="Club reminder").click()
    expect(page.locator("#content h1, #content h2").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/notifications/campaign/\d+/change/$"))
