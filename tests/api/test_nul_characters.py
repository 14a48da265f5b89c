"""NUL characters in /api/recipients/: a 400 naming the field, or in bulk only that item refused.

PostgreSQL cannot store NUL in text or JSON; these requests used to end in a 500 there. Half a
surrogate pair (JSON's "\\ud800") is refused the same way: no database can encode it.
"""

import pytest

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
    assert "cannot be a template variable" in response.json()["attributes"][0]


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
        ({"attributes": {f"ci{NUL}ty": "Kazan"}}, "attributes", "cannot be a template variable"),
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
