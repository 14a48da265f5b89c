"""Checking a segment's rules: every problem named by its rule, values in their stored form."""

import pytest

from notifications.audiences.rules import rules_clean
from notifications.audiences.services import audience_save
from notifications.errors import InvalidInput
from notifications.models import RecipientAttribute
from tests.factories import make_audience, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def registry():
    RecipientAttribute.objects.bulk_create(
        [
            RecipientAttribute(name="city", type="text"),
            RecipientAttribute(name="age", type="number"),
            RecipientAttribute(name="born", type="date"),
            RecipientAttribute(name="gold", type="boolean"),
        ]
    )


def problems(rules, audience=None) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        rules_clean(rules, audience=audience)
    return refused.value.message_dict["rules"]


def group(*rules, match: str = "all") -> dict:
    return {"match": match, "rules": list(rules)}


def test_values_are_stored_in_their_types():
    clean = rules_clean(
        group(
            {"field": "attributes.age", "op": "between", "value": ["18", "30,5"]},
            {"field": "attributes.born", "op": "before", "value": "01.02.2000"},
            {"field": "attributes.city", "op": "in", "value": ["Moscow", 7]},
            {"field": "attributes.gold", "op": "is_true", "value": None},
            {"field": "delivery", "op": "was", "value": {"status": "failed", "within_days": "7"}},
        )
    )
    assert [rule.get("value") for rule in clean["rules"]] == [
        [18, 30.5],
        "2000-02-01",
        ["Moscow", "7"],
        None,
        {"status": "failed", "within_days": 7},
    ]


def test_every_problem_is_named_by_its_rule_at_once():
    found = problems(
        group(
            {"field": "attributes.tier", "op": "eq", "value": "gold"},
            {"field": "attributes.age", "op": "contains", "value": "3"},
            {"field": "attributes.age", "op": "gt", "value": "old"},
            {"match": "any", "rules": []},
            {
                "match": "any",
                "rules": [{"field": "attributes.born", "op": "on", "value": "31.02.2020"}],
            },
        )
    )
    assert found == [
        "Rule 1: no attribute is named 'tier'.",
        "Rule 2: 'contains' does not apply to a number: use one of eq, ne, lt, lte, gt, gte, "
        "between, exists, missing.",
        "Rule 3: 'old' is not a number.",
        "Rule 4: the group has no rules.",
        "Rule 5.1: '31.02.2020' is not a date (YYYY-MM-DD or DD.MM.YYYY).",
    ]


@pytest.mark.parametrize(
    ("rules", "sentence"),
    [
        ({"match": "all", "rules": []}, "A segment needs at least one rule."),
        (None, 'a group is {"match": "all" or "any", "rules": [...]}, and nothing else.'),
        (group({"field": "phone", "op": "eq"}), "Rule 1: the value is missing."),
        (
            group({"field": "nickname", "op": "eq", "value": "x"}),
            "Rule 1: 'nickname' is not a field a rule may use.",
        ),
        (
            group({"field": "attributes.age", "op": "between", "value": [30, 18]}),
            "Rule 1: the low end (30) is above the high end (18).",
        ),
        (
            group({"field": "address", "op": "has", "value": "telegram"}),
            "Rule 1: 'telegram' is not a channel: use one of imshop, leadconverter, "
            "yandex_market, bitrix24.",
        ),
        (group({"field": "audience", "op": "in", "value": 999}), "Rule 1: no audience has id 999."),
        (
            group({"field": "delivery", "op": "was", "value": {"status": "failed"}}),
            "Rule 1: name the campaign, or the days (any campaign in the last N days).",
        ),
        (
            group({"field": "sms", "op": "was", "value": {"event": "sent", "link": "https://a"}}),
            "Rule 1: a link applies to clicks only.",
        ),
        (
            group({"field": "sms", "op": "was", "value": {"event": "clicked", "campaign": 999}}),
            "Rule 1: no campaign has id 999.",
        ),
        (
            group({"field": "attributes.gold", "op": "is_true", "value": "yes"}),
            "Rule 1: 'is_true' takes no value.",
        ),
        (
            group({"field": "created_at", "op": "within_days", "value": -1}),
            "Rule 1: the number of days must be between 0 and 36500.",
        ),
    ],
)
def test_bad_rules_are_refused_with_a_sentence(rules, sentence):
    assert problems(rules) == [sentence]


def test_rules_nest_at_most_four_groups_deep():
    deepest = group({"field": "phone", "op": "empty"})
    for _ in range(4):
        deepest = group(deepest)
    assert problems(deepest) == ["Rule 1.1.1.1: groups nest at most 4 deep."]


def segment(name: str, rules: dict):
    return audience_save(audience=None, data={"name": name, "kind": "segment", "rules": rules})


def test_a_segment_cannot_include_itself_directly_or_through_others():
    first = segment("First", group({"field": "phone", "op": "empty"}))
    second = segment("Second", group({"field": "audience", "op": "in", "value": first.pk}))
    third = segment("Third", group({"field": "audience", "op": "not_in", "value": second.pk}))
    assert problems(group({"field": "audience", "op": "in", "value": first.pk}), first) == [
        "Rule 1: a segment cannot include itself."
    ]
    assert problems(group({"field": "audience", "op": "in", "value": third.pk}), first) == [
        "Rule 1: audience 'Third' includes this segment (through 'Second'): a segment cannot "
        "include itself."
    ]


def test_a_static_list_and_a_campaign_are_valid_references():
    vip = make_audience(name="VIP")
    spring = make_campaign(name="Spring")
    rules = group(
        {"field": "audience", "op": "in", "value": str(vip.pk)},
        {"field": "delivery", "op": "was_not", "value": {"status": "sent", "campaign": spring.pk}},
    )
    assert rules_clean(rules)["rules"][0]["value"] == vip.pk


@pytest.mark.parametrize(
    ("rule", "refusal"),
    [
        (
            {"field": "audience", "op": "in", "value": 2**63},
            f"Rule 1: {2**63!r} is not the id of an audience.",
        ),
        (
            {"field": "delivery", "op": "was", "value": {"status": "sent", "campaign": 2**63}},
            f"Rule 1: {2**63!r} is not the id of a campaign.",
        ),
    ],
)
def test_an_id_no_row_can_have_is_refused_as_not_an_id(rule, refusal):
    with pytest.raises(InvalidInput) as refused:
        rules_clean({"match": "all", "rules": [rule]})
    assert refused.value.message_dict == {"rules": [refusal]}
