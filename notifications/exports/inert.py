"""CSV files we write for people, who open them in a spreadsheet.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula, and some do so
after a leading tab or carriage return too. Cells hold values outsiders chose (an external_id in
a rejects file), so such a cell could run `=HYPERLINK(...)` or worse on the reader's machine.
Every one of them gets a leading apostrophe, which spreadsheets show as text (OWASP, "CSV
Injection").
"""

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: object) -> object:
    """`value`, with an apostrophe before text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(out: TextIO, rows: Iterable[Iterable[object]]) -> None:
    """Write `rows` to `out` as CSV, every cell inert; open `out` with `newline=""`."""
    csv.writer(out).writerows([inert_cell(cell) for cell in row] for row in rows)
