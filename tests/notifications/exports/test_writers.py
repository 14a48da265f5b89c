"""The writers: UTF-8 with a BOM, no cell that runs as a formula, times in the asker's zone."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from notifications.exports.writers import csv_stream, export_filename, xlsx_file

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
ATTACK = '=HYPERLINK("http://evil.example","Click")'


def csv_rows(blocks) -> list[list[str]]:
    data = b"".join(blocks)
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(workbook_file) -> list[tuple]:
    sheet = load_workbook(workbook_file).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_csv_starts_with_a_byte_order_mark_and_keeps_cyrillic_and_emoji():
    rows = csv_rows(csv_stream(["Имя"], [("Анна 🎉",)], zone=UTC))
    assert rows == [["Имя"], ["Анна 🎉"]]


def test_a_formula_in_a_name_is_inert_text_in_csv():
    assert csv_rows(csv_stream(["Name"], [(ATTACK,)], zone=UTC))[1] == ["'" + ATTACK]


def test_a_formula_in_a_name_is_inert_text_in_excel():
    with xlsx_file(["Name"], [(ATTACK,)], title="Deliveries", zone=UTC) as out:
        sheet = load_workbook(out).active
    cell = sheet["A2"]
    assert cell.data_type == "s"
    assert cell.value == "'" + ATTACK


def test_excel_keeps_cyrillic_and_emoji():
    with xlsx_file(["Имя"], [("Анна 🎉",)], title="Recipients", zone=UTC) as out:
        assert xlsx_rows(out) == [("Имя",), ("Анна 🎉",)]


def test_times_are_shown_in_the_given_zone_in_both_formats():
    moment = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    assert csv_rows(csv_stream(["When"], [(moment,)], zone=VLADIVOSTOK))[1] == [
        "2026-12-06 19:30:00"
    ]
    with xlsx_file(["When"], [(moment,)], title="Events", zone=VLADIVOSTOK) as out:
        assert xlsx_rows(out)[1] == (datetime(2026, 12, 6, 19, 30),)


def test_empty_values_numbers_and_yes_no_read_as_people_expect():
    row = (None, 3, True, {"a": "ж"})
    assert csv_rows(csv_stream(["a", "b", "c", "d"], [row], zone=UTC))[1] == [
        "",
        "3",
        "Yes",
        '{"a": "ж"}',
    ]


def test_a_csv_is_written_in_the_language_it_was_asked_in_whenever_it_is_read():
    with translation.override("ru"):
        blocks = csv_stream([gettext_lazy("Status")], [(False,)], zone=UTC)
        first = next(blocks)
    # The server reads the rest after the middleware that chose Russian has finished.
    with translation.override("en"):
        rows = csv_rows([first, *blocks])
        assert translation.get_language() == "en"
    assert rows == [["Статус"], ["Нет"]]


def test_control_characters_excel_refuses_are_dropped_from_the_workbook():
    with xlsx_file(["Error"], [("bad\x00answer\x1b",)], title="Deliveries", zone=UTC) as out:
        assert xlsx_rows(out)[1] == ("badanswer",)


def test_a_long_csv_comes_in_several_blocks_that_add_up_to_every_row():
    blocks = list(csv_stream(["n"], ((f"row {n}",) for n in range(20_000)), zone=UTC))
    assert len(blocks) > 2
    assert len(csv_rows(blocks)) == 20_001


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Spring sale", "deliveries-spring-sale-2026-12-06.csv"),
        ("Весенняя распродажа", "deliveries-весенняя-распродажа-2026-12-06.csv"),
        ("", "deliveries-2026-12-06.csv"),
    ],
)
def test_the_file_name_says_what_of_what_and_when(subject, expected):
    assert export_filename("deliveries", subject, datetime(2026, 12, 6).date(), "csv") == expected
