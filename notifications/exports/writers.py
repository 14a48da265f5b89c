"""Writers that turn an export's rows into a file, in flat memory whatever the row count.

CSV is produced as the rows arrive, in blocks of bytes a streaming response sends at once.
An Excel workbook is a zip archive whose parts are only complete at the end, so it cannot go
out row by row: openpyxl's write-only workbook writes the rows to a temporary file on disk,
and that file is streamed when it is done.

Every text cell follows the one rule against formulas (`inert.inert_cell`); times are shown
in the time zone of the person who asked, passed in because a streamed body is written after
the middleware that activated their zone has finished. For the same reason a CSV stream keeps
the language active when it was made: its headings and words are in the exporter's language.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo
from typing import IO

from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import slugify
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .inert import inert_cell

# Excel opens a UTF-8 CSV as UTF-8 (Cyrillic, emoji) only when it starts with this mark.
BOM = "\ufeff"
# CSV bytes gathered before they are sent: a few network packets' worth per write.
CSV_BLOCK_CHARS = 64 * 1024
# Rows of one Excel sheet, less the headings' row; a longer workbook does not open.
XLSX_MAX_ROWS = 1_048_575
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _text(value: object) -> object:
    """A cell's value as text or number; what a spreadsheet would run as a formula is inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, Promise):
        value = str(value)  # a translatable heading or word, in the active language
    return inert_cell(value)


def csv_cell(value: object, zone: tzinfo) -> object:
    """`value` as a CSV cell: times in `zone` as 2026-12-06 18:30:00, dates in ISO form."""
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).strftime(TIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


def xlsx_cell(value: object, zone: tzinfo) -> object:
    """`value` as an Excel cell: times in `zone` (Excel keeps no zone), text without the
    control characters a workbook may not hold."""
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).replace(tzinfo=None)
    if isinstance(value, date):
        return value
    value = _text(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def csv_stream(
    headings: Iterable[str], rows: Iterable[Iterable[object]], *, zone: tzinfo
) -> Iterator[bytes]:
    """The CSV file, UTF-8 with a byte-order mark, in blocks of bytes as the rows arrive; its
    words in the language active now, whenever the blocks are read."""
    return _csv_blocks(headings, rows, zone=zone, language=translation.get_language())


def _csv_blocks(
    headings: Iterable[str], rows: Iterable[Iterable[object]], *, zone: tzinfo, language: str | None
) -> Iterator[bytes]:
    # Each block is written under `language`; between blocks the thread's own language is back,
    # for whatever else the server does with it.
    blocks = _csv_lines(headings, rows, zone=zone)
    while True:
        with translation.override(language):
            block = next(blocks, None)
        if block is None:
            return
        yield block


def _csv_lines(
    headings: Iterable[str], rows: Iterable[Iterable[object]], *, zone: tzinfo
) -> Iterator[bytes]:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow([_text(heading) for heading in headings])
    for row in rows:
        writer.writerow([csv_cell(value, zone) for value in row])
        if buffer.tell() >= CSV_BLOCK_CHARS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_write(
    out: IO[bytes],
    headings: Iterable[str],
    rows: Iterable[Iterable[object]],
    *,
    title: str,
    zone: tzinfo,
) -> None:
    """Write the workbook to `out`: one sheet named `title`.

    Rows past what a sheet holds are a ValueError: the caller checks the count first and
    offers CSV instead.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_text(heading) for heading in headings])
    for number, row in enumerate(rows, start=1):
        if number > XLSX_MAX_ROWS:
            raise ValueError(f"More than {XLSX_MAX_ROWS:,} rows do not fit in one sheet.")
        sheet.append([xlsx_cell(value, zone) for value in row])
    workbook.save(out)


def xlsx_file(
    headings: Iterable[str], rows: Iterable[Iterable[object]], *, title: str, zone: tzinfo
) -> IO[bytes]:
    """The workbook (`xlsx_write`) in a temporary file, read from its start; gone when it is
    closed."""
    # Handed to the response, which closes it (and so deletes it) when it has been sent.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        xlsx_write(out, headings, rows, title=title, zone=zone)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def export_filename(name: str, subject: str, day: date, extension: str) -> str:
    """`deliveries-spring-sale-2026-12-06.csv`: what, of what (when known), and when."""
    parts = [name, slugify(subject, allow_unicode=True), day.isoformat()]
    return "-".join(part for part in parts if part) + f".{extension}"
