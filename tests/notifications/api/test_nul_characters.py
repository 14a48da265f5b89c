"""NUL characters in /api/recipients/: a 400 naming the field, or in bulk only that item refused.

PostgreSQL cannot store NUL in text or JSON; these requests used to end in a 500 there. Half a
surrogate pair (JSON's "\\ud800") is refused the same way: no database can encode it.
"""

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.models import Recipient
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db

NUL = "\x00"
REFUSED = "contains a NUL character, which cannot be stored."
HALF_PAIR = "contains half of a surrogate pair, which cannot be stored."


def test_creating_a_recipient_with_a_nul_in_an_attribute_is_a_400_naming_it(api):
    response = api.post(
        "/api/recipients/",
        {"external_id": "c-1", "attributes": {"city": f"Ka{NUL}zan"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"attributes": [f"Attribute 'city' {REFUSED}"]}
    assert not Recipient.objects.exists()


def test_creating_a_recipient_with_a_nul_in_an_attribute_name_is_a_400(api):
    response = api.post(
        "/api/recipients/",
        {"external_id": "c-1", "attributes": {f"ci{NUL}ty": "Kazan"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"attributes": [f"An attribute name {REFUSED}"]}


def test_changing_a_recipient_to_a_nul_attribute_is_a_400_and_keeps_the_stored_one(api):
    recipient = make_recipient(external_id="c-1", attributes={"city": "Ufa"})
    response = api.patch(
        f"/api/recipients/{recipient.pk}/", {"attributes": {"city": f"Ka{NUL}zan"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"attributes": [f"Attribute 'city' {REFUSED}"]}
    recipient.refresh_from_db()
    assert recipient.attributes == {"city": "Ufa"}


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"attributes": {"city": f"Ka{NUL}zan"}}, "attributes", f"Attribute 'city' {REFUSED}"),
        ({"attributes": {f"ci{NUL}ty": "Kazan"}}, "attributes", f"An attribute name {REFUSED}"),
        ({"first_name": f"A{NUL}nn"}, "first_name", "Null characters are not allowed."),
        ({"addresses": {"imshop": f"u{NUL}1"}}, "addresses", "Null characters are not allowed."),
    ],
    ids=["attribute-value", "attribute-name", "first_name", "address"],
)
def test_a_bulk_item_with_a_nul_is_rejected_alone_naming_the_field(api, item, field, message):
    response = api.post(
        "/api/recipients/bulk/",
        {
            "recipients": [
                {"external_id": "c-1", "attributes": {"city": "Kazan"}},
                {"external_id": "c-2", **item},
                {"external_id": "c-3"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["rejected"]) == (2, 1)
    rejected = body["results"][1]
    assert (rejected["index"], rejected["result"]) == (1, "rejected")
    assert rejected["reason"].startswith(f"{field}: ")
    assert message in rejected["reason"]
    assert sorted(Recipient.objects.values_list("external_id", flat=True)) == ["c-1", "c-3"]


def test_half_a_surrogate_pair_in_an_attribute_is_a_400_naming_it(api):
    # Written as JSON text: the escape decodes to a lone surrogate, which no database stores.
    body = '{"external_id": "c-1", "attributes": {"city": "Ka\\ud800zan"}}'
    response = api.generic("POST", "/api/recipients/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"attributes": [f"Attribute 'city' {HALF_PAIR}"]}
    assert not Recipient.objects.exists()


def test_a_bulk_item_with_half_a_surrogate_pair_is_rejected_alone(api):
    body = (
        '{"recipients": [{"external_id": "c-1", "attributes": {"tags": ["\\udfff"]}},'
        ' {"external_id": "c-2"}]}'
    )
    response = api.generic("POST", "/api/recipients/bulk/", body, content_type="application/json")
    assert response.status_code == 200
    assert [(r["result"], r["reason"]) for r in response.json()["results"]] == [
        ("rejected", f"attributes: Attribute 'tags' {HALF_PAIR}"),
        ("created", ""),
    ]
    assert list(Recipient.objects.values_list("external_id", flat=True)) == ["c-2"]


# Text with everything in it, and often the characters databases refuse.
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udfff", "city"]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)
attributes = st.dictionaries(any_text, json_values, max_size=4)
numbers = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(attributes=attributes)
def test_any_attributes_are_stored_or_refused_never_a_500(api, attributes):
    # JSON text with ASCII escapes: a lone surrogate travels as "\\ud800", as clients send it.
    body = json.dumps({"external_id": f"p-{next(numbers)}", "attributes": attributes})
    response = api.generic("POST", "/api/recipients/", body, content_type="application/json")
    assert response.status_code in (201, 400), response.content


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(items=st.lists(attributes, min_size=1, max_size=4))
def test_any_bulk_attributes_are_stored_or_rejected_item_by_item(api, items):
    recipients = [{"external_id": f"b-{next(numbers)}", "attributes": a} for a in items]
    body = json.dumps({"recipients": recipients})
    response = api.generic("POST", "/api/recipients/bulk/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == len(items)


def test_a_refusal_that_repeats_half_a_surrogate_pair_is_sent_escaped(api):
    # The 400 names the unknown field the client sent, which is not Unicode: still JSON, no 500.
    answer = api.generic(
        "POST",
        "/api/recipients/",
        '{"external_id": "c-1", "\\ud800": 1}',
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json() == {"\ud800": ["This field is not accepted here."]}
