"""Exporting a filtered list from the admin in a real browser: the download holds its rows.

A member of staff who may only view searches the recipient list, clicks "Export CSV" and
"Export Excel", and gets files with as many rows as the list counts, names intact.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from .conftest import LiveProduct
from .test_campaign_desk import log_in, shot

PEOPLE = """
from notifications.models import Recipient
Recipient.objects.bulk_create(
    [Recipient(external_id=f"export-{i}", first_name="Анна 🎉", last_name="Kazan")
     for i in range(30)]
    + [Recipient(external_id="export-evil", first_name='=HYPERLINK("http://evil","x")',
                 last_name="Kazan")]
    + [Recipient(external_id="export-other", first_name="Boris", last_name="Perm")]
)
"""


def test_a_viewer_exports_the_searched_recipient_list_as_csv_and_excel(
    page: Page, live: LiveProduct, screenshots: Path, tmp_path: Path
):
    live.shell(PEOPLE)
    log_in(page, "viewer")
    page.goto("/admin/notifications/recipient/?q=Kazan")
    expect(page.locator(".paginator")).to_contain_text("31 recipients")
    shot(page, screenshots, "60-recipient-list-export-links")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    assert re.fullmatch(r"recipients-\d{4}-\d{2}-\d{2}\.csv", csv_download.value.suggested_filename)
    csv_path = tmp_path / "recipients.csv"
    csv_download.value.save_as(csv_path)
    with csv_path.open(newline="", encoding="utf-8-sig") as saved:
        rows = list(csv.reader(saved))
    assert len(rows) - 1 == 31
    assert {row[1] for row in rows[1:]} == {"Анна 🎉", '\'=HYPERLINK("http://evil","x")'}

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Export Excel").click()
    xlsx_path = tmp_path / "recipients.xlsx"
    xlsx_download.value.save_as(xlsx_path)
    sheet = load_workbook(xlsx_path).active
    assert sheet.max_row - 1 == 31
    assert "export-other" not in {row[0].value for row in sheet.iter_rows()}


VOLGA = """
from notifications.models import Recipient
Recipient.objects.bulk_create(
    [Recipient(external_id=f"volga-{i}", first_name="Ольга", last_name="Volga")
     for i in range(150)]
)
"""


def test_a_long_list_is_written_in_the_background_and_downloaded_when_ready(
    page: Page, live: LiveProduct, screenshots: Path, tmp_path: Path
):
    # 150 rows, past the 100 the live product writes at once (conftest.py).
    live.shell(VOLGA)
    log_in(page, "viewer")
    page.goto("/admin/notifications/recipient/?q=Volga")
    expect(page.locator(".paginator")).to_contain_text("150 recipients")
    page.get_by_role("link", name="Export Excel").click()
    expect(page.locator("#export-later-question")).to_contain_text("This list has 150 rows")
    shot(page, screenshots, "61-export-in-the-background")

    page.get_by_role("button", name="Export in the background").click()
    expect(page.locator("h1")).to_have_text("Your exports")
    expect(page.locator(".messagelist")).to_contain_text("being written in the background")
    # The page reloads itself until the worker has written the file.
    download_link = page.locator("#result_list a.export-download")
    expect(download_link).to_be_visible(timeout=30_000)
    expect(page.locator("#result_list")).to_contain_text("Ready: 150 rows")
    shot(page, screenshots, "62-your-exports-ready")

    with page.expect_download() as xlsx_download:
        download_link.click()
    assert re.fullmatch(
        r"recipients-\d{4}-\d{2}-\d{2}\.xlsx", xlsx_download.value.suggested_filename
    )
    xlsx_path = tmp_path / "volga.xlsx"
    xlsx_download.value.save_as(xlsx_path)
    sheet = load_workbook(xlsx_path).active
    assert sheet.max_row - 1 == 150
    assert {row[1].value for row in sheet.iter_rows(min_row=2)} == {"Ольга"}
