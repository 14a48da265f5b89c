"""Comparing campaigns in a real browser: two sent campaigns and a draft chosen in the list, the
action run, the page read at desktop and phone widths, and its table downloaded as CSV and Excel.

Keeps to LeadConverter addresses 930000+. Screenshots: test-artifacts/screenshots/compare-*.png.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from .conftest import VIEWPORT, LiveProduct
from .test_campaign_desk import DONE_SECONDS, log_in, seed_campaign, shot
from .test_dashboard import OVERFLOW_TOLERANCE, PHONE, overflow

EVIL = '=HYPERLINK("http://evil.test","Compare")'

DISPATCH = """
from notifications.campaigns.lifecycle import campaign_dispatch
for campaign_id in ({first}, {second}):
    campaign_dispatch(campaign_id=campaign_id)
"""

EVIL_DRAFT = f"""
from notifications.models import Campaign, MessageTemplate
template = MessageTemplate.objects.create(name="Compare evil text", body="Hi")
print(Campaign.objects.create(name={EVIL!r}, channel="leadconverter", template=template).pk)
"""


def test_staff_compare_two_sent_campaigns_and_a_draft_and_export_the_table(
    page: Page, live: LiveProduct, screenshots: Path, tmp_path: Path
):
    small = seed_campaign(live, "Compare small", 4, 930000)
    large = seed_campaign(live, "Compare large", 6, 930100)
    draft = int(live.shell(EVIL_DRAFT).splitlines()[-1])
    live.shell(DISPATCH.format(first=small, second=large))
    log_in(page, "viewer")
    for campaign in (small, large):
        page.goto(f"/admin/notifications/campaign/{campaign}/change/")
        expect(page.locator("#campaign-progress .badge")).to_have_text(
            "Completed", timeout=DONE_SECONDS * 1000
        )

    page.goto("/admin/notifications/campaign/?q=Compare")
    page.locator(f"#result_list input.action-select[value='{small}']").check()
    page.select_option("select[name=action]", "compare_selected")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("Choose 2 to 10 campaigns")

    page.goto("/admin/notifications/campaign/?q=Compare")
    for campaign in (small, large, draft):
        page.locator(f"#result_list input.action-select[value='{campaign}']").check()
    page.select_option("select[name=action]", "compare_selected")
    page.get_by_role("button", name="Go").click()
    expect(page).to_have_url(re.compile(rf"/compare/\?ids={small}%2C{large}%2C{draft}$"))

    table = page.locator("#comparison table")
    expect(table.locator("thead th")).to_have_text(
        ["Campaign", "Compare small", "Compare large", EVIL]
    )
    expect(page.locator(f"[data-started='{draft}']")).to_have_text("not started")
    sent = page.locator("tr.metric-sent td")
    expect(sent.nth(0)).to_contain_text("4 · 100 % of reachable")
    expect(sent.nth(1)).to_contain_text("6 · 100 % of reachable")
    # The count opens the rows it counts.
    sent.nth(1).get_by_role("link").click()
    expect(page.locator(".paginator")).to_contain_text("6 deliveries")
    page.go_back()
    legend = page.locator("#compare-timeline .legend")
    expect(legend).to_contain_text("Compare small: 4 sent")
    expect(legend).to_contain_text("Compare large: 6 sent")
    expect(page.locator("#compare-timeline svg .line")).to_have_count(2)

    shot(page, screenshots, "compare-1280", full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    shot(page, screenshots, "compare-390", full_page=True)
    assert overflow(page) <= OVERFLOW_TOLERANCE, "the comparison overflows at 390 px"
    page.set_viewport_size(VIEWPORT)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    assert re.fullmatch(
        r"campaign-comparison-\d{4}-\d{2}-\d{2}\.csv", csv_download.value.suggested_filename
    )
    csv_path = tmp_path / "comparison.csv"
    csv_download.value.save_as(csv_path)
    with csv_path.open(newline="", encoding="utf-8-sig") as saved:
        heading, *rows = list(csv.reader(saved))
    by_name = {row[0]: dict(zip(heading, row, strict=False)) for row in rows}
    assert set(by_name) == {"Compare small", "Compare large", "'" + EVIL}
    assert by_name["Compare large"]["Sent"] == "6"
    assert by_name["Compare large"]["Sent, % of reachable"] == "100.0"
    assert by_name["'" + EVIL]["Started"] == "not started"

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Export Excel").click()
    xlsx_path = tmp_path / "comparison.xlsx"
    xlsx_download.value.save_as(xlsx_path)
    sheet = load_workbook(xlsx_path).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == heading
    assert [row[0] for row in values[1:]] == ["Compare small", "Compare large", "'" + EVIL]
    assert values[1][heading.index("Sent")] == 4
