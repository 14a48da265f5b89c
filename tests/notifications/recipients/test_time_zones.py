"""A recipient's time zone: checked once, read from a CSV column, kept by an import."""

import io
import re

import pytest
from django.core.exceptions import ValidationError

from notifications.models import Recipient
from notifications.recipients.reading import RecipientRow, RejectedRow, read_recipient_rows
from notifications.recipients.upsert import recipients_import
from notifications.recipients.validators import clean_time_zone
from tests.factories import make_recipient


def rows_of(text: str) -> list:
    return list(read_recipient_rows(io.BytesIO(text.encode())))


def test_an_iana_zone_or_nothing_is_a_time_zone():
    assert clean_time_zone(" Asia/Kathmandu ") == "Asia/Kathmandu"
    assert clean_time_zone("") == ""


@pytest.mark.parametrize("value", ["Mars/Olympus", "UTC+3", "localtime", "europe/moscow"])
def test_anything_else_is_refused_naming_the_column(value):
    with pytest.raises(ValidationError, match=re.escape(f"timezone '{value}' is not a time zone")):
        clean_time_zone(value)


def test_the_csv_timezone_column_is_read_as_the_recipients_zone():
    [row] = rows_of("external_id,timezone\nc-1,Pacific/Marquesas\n")
    assert isinstance(row, RecipientRow)
    assert row.timezone == "Pacific/Marquesas"
    assert row.attributes == {}


def test_a_bad_zone_in_the_csv_rejects_the_row_naming_the_column():
    [row] = rows_of("external_id,timezone\nc-1,Moscow\n")
    assert isinstance(row, RejectedRow)
    assert (row.line, row.external_id) == (2, "c-1")
    assert row.reason.startswith("timezone 'Moscow' is not a time zone")


@pytest.mark.django_db
def test_an_import_stores_the_zone_and_an_empty_cell_keeps_it():
    make_recipient(external_id="c-1", timezone="Europe/London")
    text = "external_id,timezone\nc-1,\nc-2,Asia/Kathmandu\n"
    report = recipients_import(rows=read_recipient_rows(io.BytesIO(text.encode())))
    assert (report.created, report.unchanged) == (1, 1)
    zones = dict(Recipient.objects.values_list("external_id", "timezone"))
    assert zones == {"c-1": "Europe/London", "c-2": "Asia/Kathmandu"}


@pytest.mark.django_db
def test_an_import_changing_only_the_zone_updates_the_recipient():
    make_recipient(external_id="c-1", timezone="Europe/London")
    report = recipients_import(rows=rows_of("external_id,timezone\nc-1,Europe/Moscow\n"))
    assert report.updated == 1
    assert Recipient.objects.get().timezone == "Europe/Moscow"
