"""Screenshots of every main page on the demo data, at desktop (1280x800) and phone (390x844)
width, into test-artifacts/screenshots/ (kept by CI) for people to look at.

At phone width a page of our own markup must not be wider than the window. Django's own
changelist tables (the campaign and recipient lists) are wider than a phone by design and
scroll sideways inside their container, so on those pages only the table's container may
overflow, never the page around it.

Taken once per CI run, on the SQLite pass, like every page test (see `POSTGRES_JOURNEYS` in
conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import VIEWPORT, LiveProduct
from .test_dashboard import OVERFLOW_TOLERANCE, PHONE, fresh_install, log_in, overflow

IDS = """
from notifications.models import Audience, Campaign, MessageTemplate
print(Campaign.objects.get(name="Summer preview").pk)
print(Campaign.objects.get(name="Order reminders").pk)
print(Audience.objects.get(kind="segment").pk)
print(MessageTemplate.objects.get(name__startswith="Spring sale").pk)
"""

# name, path (with the demo's ids), the element that shows the page is the one meant, and
# whether it is a Django changelist (wide tables that scroll in their container).
PAGES = [
    ("dashboard", "/admin/", "#finished", False),
    ("campaign-list", "/admin/notifications/campaign/", "#result_list", True),
    ("campaign-draft", "/admin/notifications/campaign/{draft}/change/", "#send-plan", False),
    ("campaign-finished", "/admin/notifications/campaign/{finished}/change/", "#funnel", False),
    ("recipient-list", "/admin/notifications/recipient/", "#result_list", True),
    ("segment", "/admin/notifications/audience/{segment}/change/", ".segment-builder", False),
    ("template", "/admin/notifications/messagetemplate/{template}/change/", "#id_body", False),
    ("providers", "/admin/notifications/campaign/providers/", "#providers", False),
]


@pytest.fixture(scope="module")
def demo_ids(live: LiveProduct) -> dict[str, int]:
    fresh_install(live)
    live.manage("demo_data")
    draft, finished, segment, template = map(int, live.shell(IDS).splitlines()[-4:])
    return {"draft": draft, "finished": finished, "segment": segment, "template": template}


@pytest.mark.parametrize(("name", "path", "marker", "changelist"), PAGES)
def test_main_page_at_desktop_and_phone_width(
    page: Page,
    screenshots: Path,
    demo_ids: dict[str, int],
    name: str,
    path: str,
    marker: str,
    changelist: bool,
):
    log_in(page, "boss")
    page.set_viewport_size(VIEWPORT)
    page.goto(path.format(**demo_ids))
    expect(page.locator(marker).first).to_be_attached()
    page.screenshot(path=screenshots / f"page-{name}-1280.png", full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator(marker).first).to_be_attached()
    page.screenshot(path=screenshots / f"page-{name}-390.png", full_page=True)
    if changelist:
        # The wide table scrolls inside its container; the page around it does not.
        width = page.evaluate(
            "Math.max(...[...document.body.children].map(e => e.getBoundingClientRect().right))"
        )
        assert width <= PHONE["width"] + OVERFLOW_TOLERANCE, f"{name}: {width} px wide"
    else:
        assert overflow(page) <= OVERFLOW_TOLERANCE, f"{name} is {overflow(page)} px too wide"
