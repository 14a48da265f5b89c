"""NUL characters, which PostgreSQL cannot store in text or JSON, are refused by field, never a 500.

Every path that writes a recipient is covered: the CSV reader (admin dry run, confirmed import,
`import_recipients`) and the admin forms. The API has its own file in tests/notifications/api.
Half a surrogate pair, which JSON can spell but no database can store, is refused by the same
rule.
"""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.models import Recipient
from notifications.recipients.reading import CsvFormatError, read_recipient_rows
from notifications.recipients.upsert import recipients_import
from notifications.recipients.validators import clean_attributes
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db

NUL = "\x00"


def import_text(text: str, **kwargs):
    return recipients_import(rows=read_recipient_rows(io.BytesIO(text.encode())), **kwargs)


# --- The rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"city": f"Ka{NUL}zan"}, "Attribute 'city'"),
        ({"tags": ["vip", f"n{NUL}"]}, "Attribute 'tags'"),
        ({"address": {f"st{NUL}reet": "Main"}}, "Attribute 'address'"),
    ],
)
def test_an_attribute_holding_a_nul_anywhere_in_its_value_is_refused_by_name(attributes, named):
    with pytest.raises(ValidationError) as refused:
        clean_attributes(attributes)
    assert refused.value.messages == [f"{named} contains a NUL character, which cannot be stored."]


def test_an_attribute_name_with_a_nul_is_refused_without_echoing_it():
    with pytest.raises(ValidationError) as refused:
        clean_attributes({f"ci{NUL}ty": "Kazan"})
    assert refused.value.messages == [
        "An attribute name contains a NUL character, which cannot be stored."
    ]


def test_an_attribute_name_ending_in_a_newline_is_not_a_template_variable():
    with pytest.raises(ValidationError) as refused:
        clean_attributes({"city\n": "Kazan"})
    assert "cannot be a template variable" in refused.value.messages[0]


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "named"),
    [
        ("external_id", "external_id"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("imshop", "Imshop user id"),
        ("leadconverter", "LeadConverter subscriber_id"),
        ("phone", "phone"),
        ("city", "Attribute 'city'"),
    ],
)
def test_a_csv_cell_with_a_nul_rejects_only_its_row_naming_the_field(column, named):
    value = {"phone": "7999", "leadconverter": "73"}.get(column, "ab") + NUL + "1"
    header = "external_id" if column == "external_id" else f"external_id,{column}"
    bad = value if column == "external_id" else f"c-2,{value}"
    good = "c-1" if column == "external_id" else "c-1,"

    report = import_text(f"{header}\n{good}\n{bad}\n")

    assert report.created == 1
    [rejected] = report.rejected
    assert rejected.line == 3
    assert rejected.reason == f"{named} contains a NUL character, which cannot be stored."
    assert list(Recipient.objects.values_list("external_id", flat=True)) == ["c-1"]


def test_a_nul_in_a_csv_header_refuses_the_file_as_a_sentence():
    with pytest.raises(CsvFormatError, match="An attribute name contains a NUL character"):
        import_text(f"external_id,ci{NUL}ty\nc-1,Kazan\n")


# Any text a CSV cell can hold (so not the delimiter, quotes or line breaks), NUL often.
cell_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters=',;\t"\r\n'),
    max_size=12,
) | st.sampled_from(["\x00", "a\x00b", "77\x00", ""])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(rows=st.lists(st.lists(cell_text, min_size=6, max_size=6), min_size=1, max_size=5))
def test_any_csv_cells_are_imported_or_rejected_row_by_row(rows):
    header = "external_id,phone,first_name,imshop,bitrix24,city"
    text = "\n".join([header, *(",".join(cells) for cells in rows)]) + "\n"

    read = list(read_recipient_rows(io.BytesIO(text.encode())))
    report = recipients_import(rows=read, dry_run=True)

    assert report.accepted + len(report.rejected) == len(read)


def test_the_admin_dry_run_and_import_reject_only_the_row_with_a_nul(admin_client):
    upload = SimpleUploadedFile(
        "people.csv", f"external_id,city\nc-1,Kazan\nc-2,Ka{NUL}zan\n".encode(), "text/csv"
    )
    url = reverse("admin:notifications_audience_import")

    check = admin_client.post(url, {"file": upload, "new_audience": "Spring"})

    assert check.status_code == 200
    assert "Attribute &#x27;city&#x27; contains a NUL character" in check.content.decode()
    done = admin_client.post(url, {"confirm": check.context["pending"]["token"]}, follow=True)
    assert done.status_code == 200
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in done.content.decode()
    assert Recipient.objects.get().attributes == {"city": "Kazan"}


def test_import_recipients_rejects_the_row_with_a_nul_and_keeps_the_others(tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text(f"external_id,first_name\nc-1,Ann\nc-2,B{NUL}ob\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"^1 row was rejected; the other 1 went in\.$"):
        call_command("import_recipients", str(path), "--audience", "Spring")

    assert "line 3 (c-2): first_name contains a NUL character" in capsys.readouterr().err
    assert list(Recipient.objects.values_list("external_id", flat=True)) == ["c-1"]


# --- Admin forms ----------------------------------------------------------------------------


def recipient_form_data(recipient: Recipient, attributes: str) -> dict:
    return {
        "external_id": recipient.external_id,
        "phone": "",
        "first_name": recipient.first_name,
        "last_name": "",
        "attributes": attributes,
        "opted_out_at_0": "",
        "opted_out_at_1": "",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }


def test_the_recipient_form_refuses_a_nul_in_an_attribute_as_a_field_error(admin_client):
    recipient = make_recipient(external_id="c-1", first_name="Ann", attributes={"city": "Ufa"})
    url = reverse("admin:notifications_recipient_change", args=[recipient.pk])
    data = {**recipient_form_data(recipient, "{}"), "attribute__city": f"Ka{NUL}zan"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["attribute__city"]
    recipient.refresh_from_db()
    assert recipient.attributes == {"city": "Ufa"}


def test_the_recipient_form_refuses_a_nul_in_a_plain_field(admin_client):
    recipient = make_recipient(external_id="c-1", first_name="Ann")
    url = reverse("admin:notifications_recipient_change", args=[recipient.pk])
    data = {**recipient_form_data(recipient, "{}"), "first_name": f"A{NUL}nn"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["first_name"]
    recipient.refresh_from_db()
    assert recipient.first_name == "Ann"


def test_the_address_form_refuses_a_nul_in_the_address(admin_client):
    recipient = make_recipient(external_id="c-1")
    data = {"recipient": recipient.pk, "channel": "imshop", "value": f"u{NUL}1"}

    response = admin_client.post(reverse("admin:notifications_address_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["value"]
    assert not recipient.addresses.exists()
