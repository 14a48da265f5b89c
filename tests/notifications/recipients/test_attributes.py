"""The attribute registry: values stored in their types, registration, changes of type."""

import re

import pytest

from notifications.errors import InvalidInput
from notifications.models import Recipient, RecipientAttribute
from notifications.recipients.attributes import (
    attributes_typed,
    recipient_attribute_save,
    typed_value,
)
from notifications.recipients.reading import RecipientRow
from notifications.recipients.services import recipient_save
from notifications.recipients.upsert import recipients_import
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        ("number", "4,5", 4.5),
        ("number", " 1 200 ", 1200),
        ("number", "12", 12),
        ("number", 3.0, 3),
        ("number", "1e3", 1000),
        ("date", "01.12.2026", "2026-12-01"),
        ("date", "2026-12-01T23:00:00+03:00", "2026-12-01"),
        ("boolean", "Да", True),
        ("boolean", "no", False),
        ("boolean", 1, True),
        ("text", 42, "42"),
        ("text", True, "true"),
        ("number", None, None),
    ],
)
def test_values_are_stored_in_their_type(kind, given, stored):
    value = typed_value(kind, given)
    assert (value, type(value)) == (stored, type(stored))


@pytest.mark.parametrize(
    ("kind", "given", "sentence"),
    [
        ("number", "abc", "'abc' is not a number."),
        ("number", True, "True is not a number."),
        ("number", "1e400", "'1e400' is not a number."),
        ("date", "2026-13-01", "'2026-13-01' is not a date (YYYY-MM-DD or DD.MM.YYYY)."),
        ("boolean", "maybe", "'maybe' is not yes or no (true/false, yes/no, 1/0)."),
        ("text", ["a"], "['a'] is not text."),
    ],
)
def test_a_value_not_of_its_type_is_refused_with_a_sentence(kind, given, sentence):
    with pytest.raises(ValueError, match="^" + re.escape(sentence) + "$"):
        typed_value(kind, given)


def test_new_names_are_registered_with_the_type_of_their_first_value():
    recipient_save(
        recipient=None,
        data={"external_id": "a", "attributes": {"age": 30, "vip": True, "city": "Kazan"}},
    )
    assert dict(RecipientAttribute.objects.values_list("name", "type")) == {
        "age": "number",
        "vip": "boolean",
        "city": "text",
    }


def test_a_recipient_is_saved_with_typed_values_or_refused_by_field():
    RecipientAttribute.objects.create(name="age", type="number")
    saved = recipient_save(recipient=None, data={"external_id": "a", "attributes": {"age": "41"}})
    assert Recipient.objects.get(pk=saved.pk).attributes == {"age": 41}
    with pytest.raises(InvalidInput) as refused:
        recipient_save(recipient=saved, data={"attributes": {"age": "old"}})
    assert refused.value.message_dict == {"attributes": ["age: 'old' is not a number."]}


def test_an_import_row_with_a_value_not_of_its_type_is_rejected_with_its_line():
    RecipientAttribute.objects.create(name="age", type="number")
    report = recipients_import(
        rows=[
            RecipientRow(line=2, external_id="a", attributes={"age": "30"}),
            RecipientRow(line=3, external_id="b", attributes={"age": "thirty"}),
        ]
    )
    assert [(r.line, r.reason) for r in report.rejected] == [(3, "age: 'thirty' is not a number.")]
    assert Recipient.objects.get(external_id="a").attributes == {"age": 30}


def test_a_change_of_type_converts_the_stored_values():
    make_recipient(external_id="a", attributes={"age": "30", "city": "Kazan"})
    make_recipient(external_id="b", attributes={"age": " 4,5 "})
    make_recipient(external_id="c", attributes={})
    age = RecipientAttribute.objects.get(name="age")
    recipient_attribute_save(attribute=age, data={"type": "number", "label": "Age"})
    stored = dict(Recipient.objects.values_list("external_id", "attributes"))
    assert stored == {"a": {"age": 30, "city": "Kazan"}, "b": {"age": 4.5}, "c": {}}
    assert RecipientAttribute.objects.get(name="age").type == "number"


def test_a_change_of_type_some_values_do_not_fit_is_refused_and_changes_nothing():
    make_recipient(external_id="a", attributes={"age": "30"})
    make_recipient(external_id="b", attributes={"age": "thirty"})
    age = RecipientAttribute.objects.get(name="age")
    with pytest.raises(InvalidInput) as refused:
        recipient_attribute_save(attribute=age, data={"type": "number"})
    assert refused.value.message_dict == {
        "type": [
            "1 recipient has a value of 'age' that is not a number, for example "
            "b ('thirty'). Correct them first."
        ]
    }
    assert Recipient.objects.get(external_id="a").attributes == {"age": "30"}
    assert RecipientAttribute.objects.get(name="age").type == "text"


def test_attributes_typed_reports_every_value_at_once():
    with pytest.raises(InvalidInput) as refused:
        attributes_typed({"a": "x", "b": "y"}, {"a": "number", "b": "date"})
    assert refused.value.messages == [
        "a: 'x' is not a number.",
        "b: 'y' is not a date (YYYY-MM-DD or DD.MM.YYYY).",
    ]
