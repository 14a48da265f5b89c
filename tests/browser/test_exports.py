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
