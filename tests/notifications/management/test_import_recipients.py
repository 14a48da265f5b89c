"""`manage.py import_recipients`: the command's report, exit status and progress."""

import csv

import pytest
from django.core.management import CommandError, call_command

from notifications.models import Audience, Recipient


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str):
        path = tmp_path / "people.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.mark.django_db
def test_imports_into_a_new_audience_and_prints_the_summary(csv_file, capsys):
    path = csv_file("external_id,first_name\nc-1,Ann\nc-2,Bob\n")
    call_command("import_recipients", str(path), "--audience", "Spring")
    out = capsys.readouterr().out
    assert "Created audience 'Spring'." in out
    assert "2 created, 0 updated, 0 unchanged, 0 rejected: 2 rows were imported." in out
    assert Audience.objects.get(name="Spring").members.count() == 2


@pytest.mark.django_db
def test_rejected_rows_are_listed_and_the_command_exits_non_zero(csv_file, capsys, tmp_path):
    path = csv_file("external_id,phone\nc-1,79990000001\nc-2,nonsense\n")
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(CommandError, match=r"^1 row was rejected; the other 1 went in\.$"):
        call_command("import_recipients", str(path), "--audience", "A", "--rejects", str(rejects))
    captured = capsys.readouterr()
    assert "line 3 (c-2): 'nonsense' is not a phone number" in captured.err
    assert Recipient.objects.filter(external_id="c-1").exists()
    with rejects.open() as saved:
        assert list(csv.reader(saved)) == [
            ["line", "external_id", "reason"],
            ["3", "c-2", "'nonsense' is not a phone number (7 to 15 digits, '+' allowed)."],
        ]


@pytest.mark.django_db
def test_a_missing_file_is_a_sentence_not_a_traceback(tmp_path):
    with pytest.raises(CommandError, match=r"No such file: .*nope\.csv\."):
        call_command("import_recipients", str(tmp_path / "nope.csv"), "--audience", "A")


@pytest.mark.django_db
def test_a_file_without_external_id_is_refused_and_imports_nothing(csv_file):
    path = csv_file("id,phone\n1,79990000001\n")
    with pytest.raises(CommandError, match="The header has no external_id column"):
        call_command("import_recipients", str(path), "--audience", "A")
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_creates_neither_audience_nor_recipients(csv_file, capsys):
    path = csv_file("external_id\nc-1\n")
    call_command("import_recipients", str(path), "--audience", "New", "--dry-run")
    assert "1 row would be imported." in capsys.readouterr().out
    assert not Audience.objects.exists()
    assert not Recipient.objects.exists()
