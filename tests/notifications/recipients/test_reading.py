"""CSV import of recipients: reading rows, upserting them, and reporting every rejection."""

import io

import pytest

from notifications.models import Address, AudienceMember, Recipient, RecipientAttribute
from notifications.recipients.reading import (
    CsvFormatError,
    RecipientRow,
    RejectedRow,
    read_recipient_rows,
)
from notifications.recipients.upsert import recipients_import
from tests.factories import make_audience, make_recipient


def rows_of(text: str, encoding: str = "utf-8") -> list:
    return list(read_recipient_rows(io.BytesIO(text.encode(encoding))))


def import_text(text: str, **kwargs):
    return recipients_import(rows=read_recipient_rows(io.BytesIO(text.encode())), **kwargs)


# --- Reading ------------------------------------------------------------------------------


def test_known_columns_addresses_and_attributes_are_read():
    [row] = rows_of(
        "external_id,phone,first_name,last_name,leadconverter,yandex_market,city\n"
        "c-1,+7 (999) 123-45-67,Ann,Lee,7365,42,Kazan\n"
    )
    assert row == RecipientRow(
        line=2,
        external_id="c-1",
        phone="79991234567",
        first_name="Ann",
        last_name="Lee",
        addresses={"leadconverter": "7365", "yandex_market": "42"},
        attributes={"city": "Kazan"},
    )


def test_headers_match_ignoring_case_spaces_and_a_byte_order_mark():
    [row] = rows_of("External ID;First-Name;Loyalty Tier\nc-1;Ann;gold\n", encoding="utf-8-sig")
    assert row.external_id == "c-1"
    assert row.first_name == "Ann"
    assert row.attributes == {"loyalty_tier": "gold"}


def test_semicolon_and_tab_separated_files_are_understood():
    assert rows_of("external_id;city\nc-1;Kazan\n")[0].attributes == {"city": "Kazan"}
    assert rows_of("external_id\tcity\nc-1\tKazan\n")[0].attributes == {"city": "Kazan"}


def test_quoted_cells_may_span_lines_and_keep_the_right_line_numbers():
    rows = rows_of('external_id,note\nc-1,"two\nlines"\nc-2,x\n')
    assert [r.line for r in rows] == [3, 4]
    assert rows[0].attributes == {"note": "two\nlines"}


def test_blank_lines_are_skipped():
    rows = rows_of("external_id\nc-1\n\n,\nc-2\n")
    assert [r.external_id for r in rows] == ["c-1", "c-2"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (",Ann,,", "external_id is empty."),
        ("c-1,Ann,12ab,", "'12ab' is not a phone number (7 to 15 digits, '+' allowed)."),
        ("c-1,Ann,,-5", "LeadConverter subscriber_id must be a positive whole number, not '-5'."),
        ("c-1,Ann,,1,extra", "has 5 cells but the header has 4."),
    ],
)
def test_bad_rows_are_rejected_with_their_line_and_reason(line, reason):
    [row] = rows_of(f"external_id,first_name,phone,leadconverter\n{line}\n")
    assert row == RejectedRow(2, reason, row.external_id)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty: expected a header row with external_id."),
        ("id,phone\n1,2\n", "The header has no external_id column; found: id, phone."),
        ("external_id,city,City\n", "The header names the column 'City' twice."),
        (
            "external_id,2nd phone\n",
            "Column '2nd phone': '2nd_phone' cannot be a template variable",
        ),
    ],
)
def test_a_file_that_cannot_be_a_recipient_list_is_refused_whole(text, message):
    with pytest.raises(CsvFormatError) as raised:
        rows_of(text)
    assert str(raised.value).startswith(message)


def test_a_file_that_is_not_utf8_is_refused_with_advice():
    with pytest.raises(CsvFormatError, match=r"not UTF-8 text.*CSV UTF-8"):
        rows_of("external_id,first_name\nc-1,Zoë\n", encoding="latin-1")


# --- Writing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_recipients_are_created_with_addresses_attributes_and_membership():
    audience = make_audience()
    report = import_text(
        "external_id,phone,first_name,bitrix24,city\nc-1,79990000001,Ann,17,Kazan\nc-2,,Bob,,\n",
        audience=audience,
    )
    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 0, 0, [])
    ann = Recipient.objects.get(external_id="c-1")
    assert (ann.phone, ann.first_name, ann.attributes) == ("79990000001", "Ann", {"city": "Kazan"})
    assert list(ann.addresses.values_list("channel", "value")) == [("bitrix24", "17")]
    assert set(audience.members.values_list("external_id", flat=True)) == {"c-1", "c-2"}
    assert set(RecipientAttribute.objects.values_list("name", flat=True)) == {"city"}


@pytest.mark.django_db
def test_existing_recipients_are_updated_and_empty_cells_change_nothing():
    make_recipient(external_id="c-1", phone="79990000001", first_name="Ann", attributes={"a": "1"})
    report = import_text("external_id,phone,first_name,b\nc-1,,Anna,2\n")
    assert (report.created, report.updated) == (0, 1)
    ann = Recipient.objects.get(external_id="c-1")
    assert ann.phone == "79990000001"
    assert ann.first_name == "Anna"
    assert ann.attributes == {"a": "1", "b": "2"}


@pytest.mark.django_db
def test_rows_that_change_nothing_are_counted_as_unchanged():
    make_recipient(external_id="c-1", first_name="Ann", addresses={"bitrix24": "5"})
    report = import_text("external_id,first_name,bitrix24\nc-1,Ann,5\n")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)


@pytest.mark.django_db
def test_a_changed_address_counts_as_an_update_and_replaces_the_old_one():
    make_recipient(external_id="c-1", addresses={"bitrix24": "5"})
    report = import_text("external_id,bitrix24\nc-1,6\n")
    assert report.updated == 1
    assert list(Address.objects.values_list("value", flat=True)) == ["6"]


@pytest.mark.django_db
def test_a_repeated_external_id_in_the_file_is_rejected_and_the_first_row_kept():
    report = import_text("external_id,first_name\nc-1,Ann\nc-2,Bob\nc-1,Eve\n")
    assert report.created == 2
    assert report.rejected == [
        RejectedRow(4, "external_id 'c-1' already appears on line 2.", "c-1")
    ]
    assert Recipient.objects.get(external_id="c-1").first_name == "Ann"


@pytest.mark.django_db
def test_an_address_owned_by_another_recipient_is_rejected():
    make_recipient(external_id="owner", addresses={"leadconverter": "7365"})
    report = import_text("external_id,leadconverter\nc-1,7365\nc-2,7366\n")
    assert report.created == 1
    assert report.rejected == [
        RejectedRow(2, "leadconverter address 7365 already belongs to recipient 'owner'.", "c-1")
    ]
    assert not Recipient.objects.filter(external_id="c-1").exists()


@pytest.mark.django_db
def test_the_same_address_twice_in_one_file_is_rejected_the_second_time():
    report = import_text("external_id,yandex_market\nc-1,42\nc-2,42\n")
    assert report.rejected == [
        RejectedRow(3, "yandex_market address 42 is also given to 'c-1' in this file.", "c-2")
    ]


@pytest.mark.django_db
def test_bad_rows_leave_earlier_good_data_intact():
    make_recipient(external_id="kept", first_name="Kept", phone="79990000009")
    report = import_text(
        "external_id,phone,first_name\nkept,bad-phone,Changed\nc-1,79990000001,Ann\n,,\n"
        ",79990000002,NoId\n",
        chunk_size=1,
    )
    assert report.created == 1
    assert [r.line for r in report.rejected] == [2, 5]
    kept = Recipient.objects.get(external_id="kept")
    assert (kept.first_name, kept.phone) == ("Kept", "79990000009")


@pytest.mark.django_db
def test_rows_spread_over_many_chunks_are_all_imported():
    lines = "\n".join(f"c-{i},{i + 1}" for i in range(25))
    audience = make_audience()
    report = import_text(f"external_id,bitrix24\n{lines}\n", audience=audience, chunk_size=7)
    assert report.created == 25
    assert Address.objects.count() == 25
    assert AudienceMember.objects.filter(audience=audience).count() == 25


@pytest.mark.django_db
def test_a_dry_run_reports_the_same_and_writes_nothing():
    make_recipient(external_id="c-1", first_name="Ann")
    audience = make_audience()
    text = "external_id,first_name,city\nc-1,Anna,Kazan\nc-2,Bob,\nc-2,Dup,\n"
    report = import_text(text, audience=audience, dry_run=True)
    assert (report.created, report.updated, len(report.rejected)) == (1, 1, 1)
    assert report.summary().endswith("2 rows would be imported.")
    assert Recipient.objects.get(external_id="c-1").first_name == "Ann"
    assert not Recipient.objects.filter(external_id="c-2").exists()
    assert not AudienceMember.objects.exists()
    assert not RecipientAttribute.objects.exists()


@pytest.mark.django_db
def test_importing_the_same_file_twice_creates_nothing_new():
    text = "external_id,first_name,bitrix24\nc-1,Ann,1\nc-2,Bob,2\n"
    audience = make_audience()
    import_text(text, audience=audience)
    again = import_text(text, audience=audience)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Recipient.objects.count() == 2
    assert AudienceMember.objects.count() == 2
