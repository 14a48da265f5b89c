"""/api/audiences/: static lists and segments, their members, and a preview of rules."""

import pytest

from notifications.audiences.services import STATIC_ONLY, audience_save
from notifications.models import Audience, AudienceMember, Campaign, RecipientAttribute
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def test_an_audience_is_created_and_listed_with_its_member_count(api):
    created = api.post("/api/audiences/", {"name": "Spring"}, format="json")
    assert created.status_code == 201
    assert created.json()["member_count"] == 0
    assert [a["name"] for a in api.get("/api/audiences/").json()["results"]] == ["Spring"]


def test_members_are_added_and_removed_by_external_id(api):
    make_recipient(external_id="c-1")
    make_recipient(external_id="c-2")
    audience = Audience.objects.create(name="Spring")
    url = f"/api/audiences/{audience.pk}/members/"
    assert api.post(url, {"add": ["c-1", "c-2"]}, format="json").json() == {
        "added": 2,
        "removed": 0,
    }
    assert api.post(url, {"add": ["c-1"], "remove": ["c-2"]}, format="json").json() == {
        "added": 0,
        "removed": 1,
    }
    assert list(
        AudienceMember.objects.filter(audience=audience).values_list(
            "recipient__external_id", flat=True
        )
    ) == ["c-1"]
    assert api.get(f"/api/audiences/{audience.pk}/").json()["member_count"] == 1


def test_unknown_recipients_are_refused_and_nothing_changes(api):
    make_recipient(external_id="c-1")
    audience = Audience.objects.create(name="Spring")
    response = api.post(
        f"/api/audiences/{audience.pk}/members/", {"add": ["c-1", "ghost"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"recipients": ["No recipient has external_id ghost."]}
    assert not AudienceMember.objects.exists()


def test_a_members_call_must_name_someone_and_no_unknown_fields(api):
    audience = Audience.objects.create(name="Spring")
    url = f"/api/audiences/{audience.pk}/members/"
    assert api.post(url, {}, format="json").json() == {
        "non_field_errors": ["Give recipients to add or to remove."]
    }
    response = api.post(url, {"add": ["c-1"], "drop": ["c-2"]}, format="json")
    assert response.status_code == 400
    assert "drop" in response.json()


def test_a_read_only_key_cannot_change_members(reader):
    audience = Audience.objects.create(name="Spring")
    response = reader.post(f"/api/audiences/{audience.pk}/members/", {"add": []}, format="json")
    assert response.status_code == 403


def test_an_audience_a_campaign_went_out_to_cannot_be_deleted(api):
    audience = make_audience(make_recipient())
    make_campaign(audience, status=Campaign.Status.COMPLETED, name="Spring sale")
    answer = api.delete(f"/api/audiences/{audience.pk}/")
    assert answer.status_code == 409
    assert "campaign 'Spring sale' went out to it" in answer.json()["detail"]
    assert Audience.objects.filter(pk=audience.pk).exists()


def test_an_audience_only_drafts_use_is_deleted(api):
    audience = make_audience(make_recipient())
    make_campaign(audience)
    assert api.delete(f"/api/audiences/{audience.pk}/").status_code == 204
    assert not Audience.objects.filter(pk=audience.pk).exists()


# --- Segments --------------------------------------------------------------------------------


def _condition(field: str, op: str, value=None) -> dict:
    return {"field": field, "op": op, **({"value": value} if value is not None else {})}


def _all(*rules: dict) -> dict:
    return {"match": "all", "rules": list(rules)}


def _segment(name: str, rules: dict) -> Audience:
    return audience_save(audience=None, data={"name": name, "kind": "segment", "rules": rules})


@pytest.fixture
def tier() -> RecipientAttribute:
    return RecipientAttribute.objects.create(name="tier", type=RecipientAttribute.Type.NUMBER)


def test_a_segment_is_created_with_its_rules_in_stored_form_and_its_size_counted(api, tier):
    make_recipient(attributes={"tier": 3})
    make_recipient(attributes={"tier": 1})
    response = api.post(
        "/api/audiences/",
        {
            "name": "Gold",
            "kind": "segment",
            "rules": _all(_condition("attributes.tier", "gte", "2")),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["size"], body["member_count"]) == ("segment", 1, 1)
    assert body["rules"] == _all(_condition("attributes.tier", "gte", 2))
    assert body["size_counted_at"] is not None


def test_a_static_audience_size_is_its_member_count(api):
    audience = Audience.objects.create(name="Spring")
    url = f"/api/audiences/{audience.pk}/members/"
    api.post(url, {"add": [make_recipient().external_id]}, format="json")
    body = api.get(f"/api/audiences/{audience.pk}/").json()
    assert (body["kind"], body["rules"], body["size"], body["member_count"]) == (
        "static",
        None,
        1,
        1,
    )


def _refused_rules(api, rules: dict) -> list[str]:
    """The sentences creating a segment with `rules` is refused with; asserts nothing saved."""
    response = api.post(
        "/api/audiences/", {"name": "Try", "kind": "segment", "rules": rules}, format="json"
    )
    assert response.status_code == 400, response.content
    assert not Audience.objects.filter(name="Try").exists()
    return response.json()["rules"]


def test_a_rule_on_an_unknown_attribute_is_a_400_naming_the_rule(api):
    rules = _all(_condition("first_name", "eq", "Anna"), _condition("attributes.city", "eq", "X"))
    assert _refused_rules(api, rules) == ["Rule 2: no attribute is named 'city'."]


def test_an_operator_that_does_not_fit_the_type_is_a_400_listing_the_ones_that_do(api, tier):
    assert _refused_rules(api, _all(_condition("attributes.tier", "contains", "1"))) == [
        "Rule 1: 'contains' does not apply to a number: use one of eq, ne, lt, lte, gt, gte, "
        "between, exists, missing."
    ]


def test_a_value_that_does_not_parse_is_a_400_in_the_rules_words(api, tier):
    rules = _all({"match": "any", "rules": [_condition("attributes.tier", "gt", "lots")]})
    assert _refused_rules(api, rules) == ["Rule 1.1: 'lots' is not a number."]


def test_an_empty_group_is_a_400(api):
    rules = _all(_condition("first_name", "eq", "Anna"), {"match": "any", "rules": []})
    assert _refused_rules(api, rules) == ["Rule 2: the group has no rules."]


def test_every_problem_of_the_rules_is_answered_at_once(api, tier):
    rules = _all(_condition("attributes.city", "eq", "X"), _condition("attributes.tier", "eq", "?"))
    assert _refused_rules(api, rules) == [
        "Rule 1: no attribute is named 'city'.",
        "Rule 2: '?' is not a number.",
    ]


def test_a_segment_that_includes_itself_is_a_400_and_keeps_its_rules(api):
    segment = _segment("Annas", _all(_condition("first_name", "eq", "Anna")))
    response = api.patch(
        f"/api/audiences/{segment.pk}/",
        {"rules": _all(_condition("audience", "in", segment.pk))},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"rules": ["Rule 1: a segment cannot include itself."]}
    segment.refresh_from_db()
    assert segment.rules == _all(_condition("first_name", "eq", "Anna"))


def test_a_segment_that_includes_itself_through_another_is_a_400_naming_it(api):
    first = _segment("First", _all(_condition("first_name", "eq", "Anna")))
    _segment("Second", _all(_condition("audience", "in", first.pk)))
    second = Audience.objects.get(name="Second")
    response = api.patch(
        f"/api/audiences/{first.pk}/",
        {"rules": _all(_condition("audience", "in", second.pk))},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "rules": [
            "Rule 1: audience 'Second' includes this segment: a segment cannot include itself."
        ]
    }


def test_rules_that_are_not_a_json_object_are_a_400_before_any_rule_is_read(api):
    response = api.post(
        "/api/audiences/", {"name": "Try", "kind": "segment", "rules": [1, 2]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "rules": ['The rules are one group, a JSON object: {"match": "all", "rules": [...]}.']
    }


def test_rules_holding_a_nul_character_are_a_400(api):
    rules = _all(_condition("first_name", "eq", "An\x00na"))
    response = api.post(
        "/api/audiences/", {"name": "Try", "kind": "segment", "rules": rules}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"rules": ["The rules hold a NUL character, which cannot be stored."]}


def test_a_static_audience_with_rules_is_a_400(api):
    response = api.post(
        "/api/audiences/",
        {"name": "Try", "rules": _all(_condition("first_name", "eq", "Anna"))},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"rules": ["A static list has members, not rules."]}


def test_an_audience_kind_cannot_change(api):
    audience = Audience.objects.create(name="Spring")
    response = api.patch(
        f"/api/audiences/{audience.pk}/",
        {"kind": "segment", "rules": _all(_condition("first_name", "eq", "Anna"))},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "kind": ["An audience's kind is chosen when it is made: make a new audience instead."]
    }
    assert Audience.objects.get(pk=audience.pk).kind == "static"


# --- Members ---------------------------------------------------------------------------------


def _external_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [person["external_id"] for person in response.json()["results"]]


def test_a_static_audience_lists_its_members_newest_first(api):
    first, second = make_recipient(), make_recipient()
    make_recipient()
    audience = make_audience(first, second)
    assert _external_ids(api.get(f"/api/audiences/{audience.pk}/members/")) == [
        second.external_id,
        first.external_id,
    ]


def test_a_segment_lists_the_recipients_its_rules_select(api):
    anna = make_recipient(first_name="Anna")
    make_recipient(first_name="Olga")
    segment = _segment("Annas", _all(_condition("first_name", "eq", "Anna")))
    assert _external_ids(api.get(f"/api/audiences/{segment.pk}/members/")) == [anna.external_id]


def test_members_are_listed_by_cursor_pages(api):
    audience = make_audience(make_recipient(), make_recipient(), make_recipient())
    page = api.get(f"/api/audiences/{audience.pk}/members/", {"page_size": 2}).json()
    assert len(page["results"]) == 2
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert rest["next"] is None


@pytest.mark.parametrize(
    ("search", "found"),
    [("c-10", ["c-10"]), ("c-1", []), ("79001234567", ["c-20"]), ("ivan", ["c-10"])],
)
def test_member_search_finds_an_external_id_or_phone_exactly_or_part_of_a_last_name(
    api, search, found
):
    audience = make_audience(
        make_recipient(external_id="c-10", last_name="Ivanova"),
        make_recipient(external_id="c-20", phone="79001234567"),
    )
    response = api.get(f"/api/audiences/{audience.pk}/members/", {"search": search})
    assert _external_ids(response) == found


def test_a_read_only_key_lists_members(reader):
    audience = make_audience(make_recipient(external_id="c-1"))
    assert _external_ids(reader.get(f"/api/audiences/{audience.pk}/members/")) == ["c-1"]


def test_changing_a_segments_members_is_a_400_and_changes_nothing(api):
    make_recipient(external_id="c-1", first_name="Olga")
    segment = _segment("Annas", _all(_condition("first_name", "eq", "Anna")))
    response = api.post(f"/api/audiences/{segment.pk}/members/", {"add": ["c-1"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [STATIC_ONLY]}
    assert not AudienceMember.objects.exists()


# --- Preview ---------------------------------------------------------------------------------


def test_a_preview_counts_the_recipients_and_shows_the_newest_ten(api):
    annas = [make_recipient(first_name="Anna") for _ in range(12)]
    make_recipient(first_name="Olga")
    response = api.post(
        "/api/audiences/preview/",
        {"rules": _all(_condition("first_name", "eq", "Anna"))},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 12
    assert [person["external_id"] for person in response.json()["sample"]] == [
        person.external_id for person in reversed(annas[2:])
    ]


def test_a_preview_saves_nothing(api):
    api.post(
        "/api/audiences/preview/",
        {"rules": _all(_condition("first_name", "eq", "Anna"))},
        format="json",
    )
    assert not Audience.objects.exists()


def test_a_preview_of_bad_rules_is_a_400_in_the_rules_words(api, tier):
    response = api.post(
        "/api/audiences/preview/",
        {"rules": _all(_condition("attributes.tier", "between", [5, 1]))},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"rules": ["Rule 1: the low end (5) is above the high end (1)."]}


def test_a_preview_for_a_segment_refuses_rules_that_include_it(api):
    segment = _segment("Annas", _all(_condition("first_name", "eq", "Anna")))
    response = api.post(
        "/api/audiences/preview/",
        {"rules": _all(_condition("audience", "not_in", segment.pk)), "audience": segment.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"rules": ["Rule 1: a segment cannot include itself."]}


def test_a_read_only_key_may_preview(reader):
    make_recipient(first_name="Anna")
    response = reader.post(
        "/api/audiences/preview/",
        {"rules": _all(_condition("first_name", "eq", "Anna"))},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_read_only_key_cannot_create_a_segment(reader):
    response = reader.post(
        "/api/audiences/",
        {"name": "Annas", "kind": "segment", "rules": _all(_condition("first_name", "eq", "A"))},
        format="json",
    )
    assert response.status_code == 403
    assert not Audience.objects.exists()


# --- Schema ----------------------------------------------------------------------------------


def test_the_schema_describes_rules_as_groups_of_conditions_and_groups_each_time_it_is_served(
    client,
):
    for _ in range(2):
        schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
        group = schemas["RuleGroup"]["properties"]
        assert group["rules"]["items"]["oneOf"] == [
            {"$ref": "#/components/schemas/RuleCondition"},
            {"$ref": "#/components/schemas/RuleGroup"},
        ]
        assert schemas[group["match"]["$ref"].split("/")[-1]]["enum"] == ["all", "any"]
        assert schemas["RuleCondition"]["required"] == ["field", "op"]
