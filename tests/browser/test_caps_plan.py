"""The send plan of a draft some of whose people are outside their send window and some at a
frequency cap, in a real browser: the desk's plan and the dispatch confirmation show both,
with their numbers.

Screenshots at 1280x800 go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import LiveProduct
from .test_campaign_desk import log_in, shot

IN_23_H = re.compile(r"\(in (23 h|22 h 59 min)\)")


def zone_at(hour: int) -> str:
    """A zone (fixed offset) where it is `hour` o'clock now, give or take the current minutes."""
    offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12  # within UTC-12..UTC+11
    # The Etc zones' signs are POSIX's: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def seed_held_and_capped(live: LiveProduct) -> int:
    """A draft to six people with a 10:00-21:00 window: two where it is 03:00 now, four where it
    is 14:00; a cap of one message a day, which three of them (one at night) had an hour ago.
    Returns the draft's id."""
    night, day = zone_at(3), zone_at(14)
    return int(
        live.shell(
            f"""
from datetime import time, timedelta
from django.utils import timezone
from notifications.models import *
now = timezone.now()
FrequencyCap.objects.create(limit=1, period="day")
audience = Audience.objects.create(name="Held and capped", size=6)
earlier = Campaign.objects.create(
    name="Earlier today", channel="leadconverter", status="completed",
    template=MessageTemplate.objects.create(name="Earlier text", body="Hi"),
)
for i in range(6):
    zone = {night!r} if i < 2 else {day!r}
    r = Recipient.objects.create(external_id=f"held-{{i}}", first_name=f"H{{i}}", timezone=zone)
    Address.objects.create(recipient=r, channel="leadconverter", value=str(880000 + i))
    AudienceMember.objects.create(audience=audience, recipient=r)
    if i in (1, 2, 3):
        d = Delivery.objects.create(
            campaign=earlier, recipient=r, address=str(880000 + i), status="sent"
        )
        CountedSend.objects.create(
            delivery=d, recipient=r, channel="leadconverter", sent_at=now - timedelta(hours=1)
        )
campaign = Campaign.objects.create(
    name="Held and capped", channel="leadconverter",
    template=MessageTemplate.objects.create(name="Held text", body="Hello {{{{ first_name }}}}"),
    window_on=True, window_start=time(10), window_end=time(21),
)
campaign.audiences.add(audience)
print(campaign.pk)
"""
        ).splitlines()[-1]
    )


def test_the_plan_shows_who_is_outside_their_window_and_who_is_at_a_cap(
    page: Page, live: LiveProduct, screenshots: Path
):
    log_in(page, "boss")
    campaign_id = seed_held_and_capped(live)

    page.goto(f"/admin/notifications/campaign/{campaign_id}/change/")
    plan = page.locator("#send-plan")
    expect(plan.locator("[data-plan=reachable]")).to_have_text("6")
    expect(plan.locator("[data-plan=outside_window]")).to_have_text("2")
    expect(plan.locator("#plan-first-opening")).to_contain_text("the first window opens")
    capped = plan.locator("tr", has=page.locator("[data-plan=capped]"))
    expect(capped.locator("th")).to_have_text("At a frequency cap now: deferred")
    expect(capped.locator("[data-plan=capped]")).to_have_text("3")
    # The last of them had their message an hour ago: a rolling day from then.
    # (Or a minute less, should the page load more than half a minute after the seed.)
    expect(plan.locator("#plan-capped-until")).to_contain_text(IN_23_H)
    expect(plan.locator("#plan-eta")).to_have_text(re.compile(r"≈ 2[23] h"))
    shot(page, screenshots, "40-plan-held-and-capped")

    page.goto(f"/admin/notifications/campaign/{campaign_id}/send/dispatch/")
    expect(page.locator("#transition-question")).to_contain_text("to 6 recipients")
    holds = page.locator("#transition-holds li")
    expect(holds).to_have_count(2)
    expect(holds.nth(0)).to_contain_text("Outside their send window now: 2;")
    expect(holds.nth(1)).to_contain_text("At a frequency cap now: 3, deferred until")
    expect(holds.nth(1)).to_contain_text(IN_23_H)
    shot(page, screenshots, "41-dispatch-held-and-capped")
