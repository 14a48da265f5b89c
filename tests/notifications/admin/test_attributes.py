"""The attribute registry's admin: labels, types that convert stored values or are refused
beside the type, names fixed once made, and deletion only of attributes nobody uses."""

import pytest
from django.urls import reverse

from notifications.audiences.services import audience_save
from notifications.models import Recipient, RecipientAttribute
from tests.factories import make_recipient

from .test_base import browser_form, delete_url, messages_of

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:notifications_recipientattribute_add")


def change_url(name: str) -> str:
    return reverse("admin:notifications_recipientattribute_change", args=[name])


def attributes_of(external_id: str) -> dict:
    return Recipient.objects.get(external_id=external_id).attributes


def test_a_label_is_changed(staff):
    make_recipient(attributes={"city": "Kazan"})
    form = browser_form(staff.get(change_url("city")))
    response = staff.post(change_url("city"), {**form, "label": "City of residence"})
    assert response.status_code == 302
    assert RecipientAttribute.objects.get(name="city").label == "City of residence"


def test_a_new_type_converts_the_stored_values(staff):
    make_recipient(external_id="a", attributes={"age": "31"})
    make_recipient(external_id="b", attributes={"age": "4,5"})
    form = browser_form(staff.get(change_url("age")))
    response = staff.post(change_url("age"), {**form, "type": "number"})
    assert response.status_code == 302
    assert RecipientAttribute.objects.get(name="age").type == "number"
    assert (attributes_of("a"), attributes_of("b")) == ({"age": 31}, {"age": 4.5})


def test_a_type_the_values_do_not_fit_is_refused_beside_the_type(staff):
    make_recipient(external_id="a", attributes={"age": "31"})
    make_recipient(external_id="b", attributes={"age": "old"})
    form = browser_form(staff.get(change_url("age")))
    response = staff.post(change_url("age"), {**form, "type": "number"})
    assert response.context["adminform"].form.errors == {
        "type": [
            "1 recipient has a value of 'age' that is not a number, for example b ('old'). "
            "Correct them first."
        ]
    }
    assert RecipientAttribute.objects.get(name="age").type == "text"
    assert attributes_of("a") == {"age": "31"}


def test_a_new_attribute_is_registered_with_its_type(staff):
    response = staff.post(ADD_URL, {"name": "birthday", "label": "Birthday", "type": "date"})
    assert response.status_code == 302
    attribute = RecipientAttribute.objects.get(name="birthday")
    assert (attribute.label, attribute.type) == ("Birthday", "date")


def test_a_new_name_must_be_usable_as_a_template_variable(staff):
    response = staff.post(ADD_URL, {"name": "shoe size", "label": "", "type": "number"})
    assert response.context["adminform"].form.errors == {
        "name": [
            "'shoe size' cannot be a template variable: use letters, digits and underscores, "
            "starting with a letter."
        ]
    }
    assert not RecipientAttribute.objects.filter(name="shoe size").exists()


def test_a_name_is_read_only_once_the_attribute_exists(staff):
    make_recipient(attributes={"city": "Kazan"})
    page = staff.get(change_url("city"))
    assert "name" not in page.context["adminform"].form.fields


def test_an_attribute_nobody_has_is_deleted(staff):
    RecipientAttribute.objects.create(name="unused")
    response = staff.post(delete_url(RecipientAttribute(name="unused")), {"post": "yes"})
    assert response.status_code == 302
    assert not RecipientAttribute.objects.filter(name="unused").exists()


def test_an_attribute_recipients_have_is_not_deleted_and_the_page_says_why(staff):
    make_recipient(attributes={"city": "Kazan"})
    make_recipient(attributes={"city": "Omsk"})
    response = staff.post(delete_url(RecipientAttribute(name="city")), {"post": "yes"}, follow=True)
    assert messages_of(response) == [
        "Cannot delete attribute 'city': 2 recipients have a value of it."
    ]
    assert RecipientAttribute.objects.filter(name="city").exists()


def test_an_attribute_a_segment_uses_is_not_deleted(staff):
    RecipientAttribute.objects.create(name="tier")
    rules = {
        "match": "any",
        "rules": [{"match": "all", "rules": [{"field": "attributes.tier", "op": "exists"}]}],
    }
    audience_save(audience=None, data={"name": "Tiered", "kind": "segment", "rules": rules})
    response = staff.post(delete_url(RecipientAttribute(name="tier")), {"post": "yes"}, follow=True)
    assert messages_of(response) == ["Cannot delete attribute 'tier': segment 'Tiered' uses it."]
    assert RecipientAttribute.objects.filter(name="tier").exists()


def test_an_attributes_page_says_how_many_recipients_have_a_value(staff):
    make_recipient(attributes={"city": "Kazan"})
    make_recipient(attributes={})
    page = staff.get(change_url("city")).content.decode()
    assert "1: the attribute cannot be deleted while a recipient has a value." in page
