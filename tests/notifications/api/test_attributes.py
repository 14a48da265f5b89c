"""/api/attributes/: the attribute registry, its types and labels."""

import pytest

from notifications.models import Recipient, RecipientAttribute
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db


def test_attributes_are_listed_by_name_and_read_by_name(api):
    RecipientAttribute.objects.create(name="tier", type="number", label="Loyalty tier")
    RecipientAttribute.objects.create(name="city")
    assert [a["name"] for a in api.get("/api/attributes/").json()["results"]] == ["city", "tier"]
    assert api.get("/api/attributes/tier/").json() == {
        "name": "tier",
        "type": "number",
        "label": "Loyalty tier",
    }


def test_an_attribute_is_registered_with_its_type_and_label(api):
    response = api.post(
        "/api/attributes/", {"name": "birthday", "type": "date", "label": "Birthday"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert RecipientAttribute.objects.get(name="birthday").type == "date"


def test_registering_an_attribute_converts_the_values_recipients_have(api):
    # A name the registry forgot (rows written around the services): values stay text.
    recipient = make_recipient(attributes={"tier": "3"})
    RecipientAttribute.objects.filter(name="tier").delete()
    response = api.post("/api/attributes/", {"name": "tier", "type": "number"}, format="json")
    assert response.status_code == 201, response.content
    assert Recipient.objects.get(pk=recipient.pk).attributes == {"tier": 3}


def test_a_name_that_cannot_be_a_template_variable_is_a_400(api):
    response = api.post("/api/attributes/", {"name": "loyalty tier"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "name": [
            "'loyalty tier' cannot be a template variable: use letters, digits and "
            "underscores, starting with a letter."
        ]
    }


def test_a_name_already_registered_is_a_400(api):
    RecipientAttribute.objects.create(name="city", label="City")
    response = api.post("/api/attributes/", {"name": "city", "label": "Town"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert RecipientAttribute.objects.get(name="city").label == "City"


def test_a_label_is_changed(api):
    RecipientAttribute.objects.create(name="city")
    response = api.patch("/api/attributes/city/", {"label": "City"}, format="json")
    assert response.status_code == 200
    assert RecipientAttribute.objects.get(name="city").label == "City"


def test_a_change_of_type_converts_the_stored_values(api):
    recipient = make_recipient(attributes={"tier": "3"})
    response = api.patch("/api/attributes/tier/", {"type": "number"}, format="json")
    assert response.status_code == 200, response.content
    assert Recipient.objects.get(pk=recipient.pk).attributes == {"tier": 3}


def test_a_change_of_type_some_values_refuse_is_a_400_on_type_and_changes_nothing(api):
    make_recipient(external_id="c-1", attributes={"tier": "gold"})
    make_recipient(attributes={"tier": "3"})
    response = api.patch("/api/attributes/tier/", {"type": "number"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "type": [
            "1 recipient has a value of 'tier' that is not a number, for example c-1 ('gold'). "
            "Correct them first."
        ]
    }
    assert RecipientAttribute.objects.get(name="tier").type == "text"
    stored = [person.attributes["tier"] for person in Recipient.objects.order_by("pk")]
    assert stored == ["gold", "3"]


def test_the_name_stays_what_it_was_made(api):
    RecipientAttribute.objects.create(name="city")
    response = api.put("/api/attributes/city/", {"name": "town", "type": "text"}, format="json")
    assert response.status_code == 200
    assert list(RecipientAttribute.objects.values_list("name", flat=True)) == ["city"]


def test_an_attribute_cannot_be_deleted(api):
    RecipientAttribute.objects.create(name="city")
    assert api.delete("/api/attributes/city/").status_code == 405
    assert RecipientAttribute.objects.filter(name="city").exists()


def test_a_read_only_key_reads_attributes_and_cannot_register_one(reader):
    RecipientAttribute.objects.create(name="city")
    assert reader.get("/api/attributes/city/").status_code == 200
    assert reader.post("/api/attributes/", {"name": "tier"}, format="json").status_code == 403
    assert not RecipientAttribute.objects.filter(name="tier").exists()
