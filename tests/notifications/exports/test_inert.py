"""CSV we write for people: no cell runs as a spreadsheet formula (CSV injection)."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from notifications.exports.inert import inert_cell, write_csv


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert inert_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["c-1", "'=1", " =1", "", 42, -3, None])
def test_other_cells_are_written_as_they_are(value):
    assert inert_cell(value) == value


def test_write_csv_escapes_every_cell_of_every_row():
    out = io.StringIO()
    write_csv(out, [("line", "external_id"), (2, '=HYPERLINK("http://evil","x")')])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["line", "external_id"],
        ["2", '\'=HYPERLINK("http://evil","x")'],
    ]


@pytest.mark.django_db
def test_the_rejects_file_of_import_recipients_holds_no_formula(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text(
        'external_id,phone\n"=HYPERLINK(""http://evil"",""x"")",nonsense\n+1,x\n-1,x\n@A1,x\n',
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"

    with pytest.raises(CommandError, match="4 rows were rejected"):
        call_command("import_recipients", str(people), "--audience", "A", "--rejects", str(rejects))

    with rejects.open(newline="", encoding="utf-8") as saved:
        external_ids = [row[1] for row in csv.reader(saved)][1:]
    assert external_ids == ['\'=HYPERLINK("http://evil","x")', "'+1", "'-1", "'@A1"]
