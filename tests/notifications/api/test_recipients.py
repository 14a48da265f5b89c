"""/api/recipients/: CRUD, filters, strict input and the bulk upsert."""

import pytest

from notifications.models import Recipient, RecipientAttribute
from tests.factories import make_audience, make_recipient

pytestmark = pytest.mark.django_db


def test_creating_a_recipient_stores_addresses_and_attributes(api):
    response = api.post(
        "/api/recipients/",
        {
            "external_id": "c-1",
            "phone": "+7 (900) 123-45-67",
            "addresses": {"leadconverter": "1001"},
            "attributes": {"city": "Kazan"},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["external_id"], body["phone"]) == ("c-1", "79001234567")
    assert body["addresses"] == {"leadconverter": "1001"}
    assert body["attributes"] == {"city": "Kazan"}


def test_unknown_fields_are_refused_by_name(api):
    response = api.post("/api/recipients/", {"external_id": "c-1", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"colour": ["This field is not accepted here."]}


def test_bad_values_are_reported_per_field(api):
    response = api.post(
        "/api/recipients/",
        {"external_id": "c-1", "phone": "12", "addresses": {"bitrix24": "abc"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "phone": ["'12' is not a phone number (7 to 15 digits, '+' allowed)."],
        "addresses": ["Bitrix24 USER_ID must be a positive whole number, not 'abc'."],
    }


def test_filters_and_search_narrow_the_list(api):
    kazan = make_recipient(external_id="c-1", first_name="Anna")
    make_recipient(external_id="c-2", first_name="Boris")
    make_audience(kazan, name="kazan")
    audience_id = kazan.audiences.get().pk
    assert [
        r["external_id"]
        for r in api.get(f"/api/recipients/?audience={audience_id}").json()["results"]
    ] == ["c-1"]
    assert [r["external_id"] for r in api.get("/api/recipients/?search=bor").json()["results"]] == [
        "c-2"
    ]
    assert api.get("/api/recipients/?opted_out=true").json()["results"] == []
    assert api.get("/api/recipients/?audience=x").json() == {
        "audience": ["A valid integer is required."]
    }


def test_a_recipient_is_updated_and_deleted_by_id(api):
    recipient = make_recipient(external_id="c-1", addresses={"leadconverter": "5"})
    response = api.patch(
        f"/api/recipients/{recipient.pk}/", {"addresses": {"bitrix24": "7"}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["addresses"] == {"bitrix24": "7"}
    assert api.delete(f"/api/recipients/{recipient.pk}/").status_code == 204
    assert not Recipient.objects.exists()


def test_bulk_upsert_reports_each_item_and_keeps_the_good_ones(api):
    make_recipient(external_id="c-1")
    audience = make_audience(name="vip")
    response = api.post(
        "/api/recipients/bulk/",
        {
            "audience": audience.pk,
            "recipients": [
                {"external_id": "c-1", "first_name": "Anna"},
                {"external_id": "c-2", "addresses": {"leadconverter": "1002"}},
                {"external_id": "c-3", "phone": "12"},
                {"external_id": "c-4", "nickname": "x"},
                "not an object",
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "created": 1,
        "updated": 1,
        "rejected": 3,
        "results": [
            {"index": 0, "external_id": "c-1", "result": "updated", "reason": ""},
            {"index": 1, "external_id": "c-2", "result": "created", "reason": ""},
            {
                "index": 2,
                "external_id": "c-3",
                "result": "rejected",
                "reason": "phone: '12' is not a phone number (7 to 15 digits, '+' allowed).",
            },
            {
                "index": 3,
                "external_id": "c-4",
                "result": "rejected",
                "reason": "nickname: This field is not accepted here.",
            },
            {
                "index": 4,
                "external_id": "",
                "result": "rejected",
                "reason": "non_field_errors: Invalid data. Expected a dictionary, but got str.",
            },
        ],
    }
    assert Recipient.objects.get(external_id="c-1").first_name == "Anna"
    assert sorted(audience.members.values_list("external_id", flat=True)) == ["c-1", "c-2"]


def test_bulk_upsert_refuses_more_than_the_batch_limit(api):
    items = [{"external_id": f"c-{i}"} for i in range(1001)]
    response = api.post("/api/recipients/bulk/", {"recipients": items}, format="json")
    assert response.status_code == 400
    assert response.json() == {"recipients": ["Ensure this field has no more than 1000 elements."]}


def test_an_attribute_value_of_the_wrong_type_is_a_400_on_attributes(api):
    RecipientAttribute.objects.create(name="tier", type=RecipientAttribute.Type.NUMBER)
    response = api.post(
        "/api/recipients/", {"external_id": "c-1", "attributes": {"tier": "gold"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"attributes": ["tier: 'gold' is not a number."]}
    assert not Recipient.objects.exists()


def test_an_attribute_value_is_stored_in_its_registered_type(api):
    RecipientAttribute.objects.create(name="tier", type=RecipientAttribute.Type.NUMBER)
    response = api.post(
        "/api/recipients/", {"external_id": "c-1", "attributes": {"tier": "4,5"}}, format="json"
    )
    assert response.json()["attributes"] == {"tier": 4.5}


def test_bulk_upsert_rejects_an_item_whose_attribute_is_of_the_wrong_type(api):
    RecipientAttribute.objects.create(name="tier", type=RecipientAttribute.Type.NUMBER)
    response = api.post(
        "/api/recipients/bulk/",
        {
            "recipients": [
                {"external_id": "c-1", "attributes": {"tier": "gold"}},
                {"external_id": "c-2", "attributes": {"tier": 2}},
            ]
        },
        format="json",
    )
    assert response.json()["results"] == [
        {
            "index": 0,
            "external_id": "c-1",
            "result": "rejected",
            "reason": "tier: 'gold' is not a number.",
        },
        {"index": 1, "external_id": "c-2", "result": "created", "reason": ""},
    ]
    assert list(Recipient.objects.values_list("external_id", flat=True)) == ["c-2"]


def test_a_recipients_time_zone_is_stored_and_shown(api):
    response = api.post(
        "/api/recipients/", {"external_id": "c-1", "timezone": "Asia/Kathmandu"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["timezone"] == "Asia/Kathmandu"
    assert Recipient.objects.get().timezone == "Asia/Kathmandu"


def test_a_time_zone_that_is_not_one_is_400_on_its_field(api):
    response = api.post(
        "/api/recipients/", {"external_id": "c-1", "timezone": "Moscow"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]
    assert "is not a time zone" in response.json()["timezone"][0]
    assert not Recipient.objects.exists()


def test_the_bulk_upsert_takes_a_time_zone_per_item(api):
    response = api.post(
        "/api/recipients/bulk/",
        {
            "recipients": [
                {"external_id": "c-1", "timezone": "Pacific/Marquesas"},
                {"external_id": "c-2", "timezone": "Nowhere/Land"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [result["result"] for result in results] == ["created", "rejected"]
    assert results[1]["reason"].startswith("timezone: timezone 'Nowhere/Land' is not")
    assert Recipient.objects.get().timezone == "Pacific/Marquesas"
