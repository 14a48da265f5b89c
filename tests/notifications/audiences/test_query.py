"""Every operator of a segment's rules, on the database the suite runs on (SQLite, PostgreSQL)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.audiences.query import audience_people, rules_people
from notifications.audiences.rules import rules_clean
from notifications.audiences.services import audience_save
from notifications.models import Delivery, DeliveryEvent, RecipientAttribute
from notifications.recipients.attributes import recipient_attribute_save
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _days_ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.fixture
def population():
    """Four people with typed attributes: anna and boris full, clara sparse, dmitri empty."""
    for name, kind in [("city", "text"), ("age", "number"), ("gold", "boolean"), ("born", "date")]:
        recipient_attribute_save(attribute=None, data={"name": name, "type": kind})
    RecipientAttribute.objects.create(name="visit", type="date")
    anna = make_recipient(
        external_id="anna",
        phone="79990000001",
        first_name="Anna",
        last_name="Ivanova",
        attributes={"city": "Moscow", "age": 34, "gold": True, "born": "1990-05-01"},
        addresses={"leadconverter": "101"},
    )
    boris = make_recipient(
        external_id="boris",
        first_name="Boris",
        attributes={"city": "Kazan", "age": 12.5, "gold": False, "visit": _days_ago(3)},
        addresses={"yandex_market": "202"},
    )
    clara = make_recipient(
        external_id="clara",
        attributes={"city": "", "visit": _days_ago(40)},
        opted_out_at=timezone.now(),
    )
    dmitri = make_recipient(external_id="dmitri")
    return {"anna": anna, "boris": boris, "clara": clara, "dmitri": dmitri}


def selected(*conditions, match: str = "all") -> list[str]:
    rules = rules_clean({"match": match, "rules": list(conditions)})
    return sorted(rules_people(rules).values_list("external_id", flat=True))


def rule(field: str, op: str, value=None) -> dict:
    condition = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return condition


CASES = [
    # text attributes
    (rule("attributes.city", "eq", "Moscow"), ["anna"]),
    (rule("attributes.city", "ne", "Moscow"), ["boris", "clara", "dmitri"]),
    (rule("attributes.city", "contains", "aza"), ["boris"]),
    (rule("attributes.city", "contains", "MOS"), ["anna"]),
    (rule("attributes.city", "starts_with", "ka"), ["boris"]),
    (rule("attributes.city", "in", ["Moscow", "Kazan"]), ["anna", "boris"]),
    (rule("attributes.city", "empty"), ["clara", "dmitri"]),
    (rule("attributes.city", "not_empty"), ["anna", "boris"]),
    (rule("attributes.city", "exists"), ["anna", "boris", "clara"]),
    (rule("attributes.city", "missing"), ["dmitri"]),
    # number attributes
    (rule("attributes.age", "eq", 34), ["anna"]),
    (rule("attributes.age", "ne", "34"), ["boris", "clara", "dmitri"]),
    (rule("attributes.age", "lt", 34), ["boris"]),
    (rule("attributes.age", "lte", "34"), ["anna", "boris"]),
    (rule("attributes.age", "gt", "12,5"), ["anna"]),
    (rule("attributes.age", "gte", 12.5), ["anna", "boris"]),
    (rule("attributes.age", "between", [10, 20]), ["boris"]),
    (rule("attributes.age", "missing"), ["clara", "dmitri"]),
    # boolean attributes
    (rule("attributes.gold", "is_true"), ["anna"]),
    (rule("attributes.gold", "is_false"), ["boris"]),
    (rule("attributes.gold", "exists"), ["anna", "boris"]),
    # date attributes
    (rule("attributes.born", "on", "01.05.1990"), ["anna"]),
    (rule("attributes.born", "before", "1991-01-01"), ["anna"]),
    (rule("attributes.born", "after", "1991-01-01"), []),
    (rule("attributes.born", "between", ["1990-01-01", "1990-12-31"]), ["anna"]),
    (rule("attributes.visit", "within_days", 7), ["boris"]),
    (rule("attributes.visit", "older_than_days", 30), ["clara"]),
    # the recipient's own fields
    (rule("external_id", "eq", "anna"), ["anna"]),
    (rule("phone", "starts_with", "7999"), ["anna"]),
    (rule("phone", "empty"), ["boris", "clara", "dmitri"]),
    (rule("first_name", "in", ["Anna", "Boris"]), ["anna", "boris"]),
    (rule("last_name", "not_empty"), ["anna"]),
    (rule("opted_out", "is_true"), ["clara"]),
    (rule("opted_out", "is_false"), ["anna", "boris", "dmitri"]),
    (rule("created_at", "within_days", 1), ["anna", "boris", "clara", "dmitri"]),
    (rule("created_at", "older_than_days", 1), []),
    (rule("created_at", "on", TODAY.isoformat()), ["anna", "boris", "clara", "dmitri"]),
    (rule("updated_at", "before", TODAY.isoformat()), []),
    # reachability
    (rule("address", "has", "leadconverter"), ["anna"]),
    (rule("address", "has_not", "leadconverter"), ["boris", "clara", "dmitri"]),
]


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=lambda c: str(c))
def test_each_operator_selects_exactly_the_recipients_it_describes(population, condition, expected):
    assert selected(condition) == expected


def test_a_group_combines_its_conditions_with_all_or_any(population):
    moscow = rule("attributes.city", "eq", "Moscow")
    young = rule("attributes.age", "lt", 20)
    assert selected(moscow, young) == []
    assert selected(moscow, young, match="any") == ["anna", "boris"]
    either = {"match": "any", "rules": [moscow, young]}
    assert selected(rule("address", "has", "yandex_market"), either) == ["boris"]


def test_a_value_of_another_type_never_matches_a_typed_condition(population):
    # The services never store one; a condition must not misread one written around them.
    population["dmitri"].attributes = {"age": "old", "gold": "yes"}
    population["dmitri"].save()
    assert selected(rule("attributes.age", "gt", 1)) == ["anna", "boris"]
    assert selected(rule("attributes.age", "lt", 100)) == ["anna", "boris"]
    assert selected(rule("attributes.gold", "is_true")) == ["anna"]


def test_membership_follows_static_lists_and_other_segments(population):
    vip = make_audience(population["anna"], population["clara"], name="VIP")
    assert selected(rule("audience", "in", vip.pk)) == ["anna", "clara"]
    assert selected(rule("audience", "not_in", vip.pk)) == ["boris", "dmitri"]
    adults = audience_save(
        audience=None,
        data={
            "name": "Adults",
            "kind": "segment",
            "rules": {"match": "all", "rules": [rule("attributes.age", "gte", 18)]},
        },
    )
    assert selected(rule("audience", "in", adults.pk)) == ["anna"]
    assert selected(rule("audience", "not_in", adults.pk), rule("audience", "in", vip.pk)) == [
        "clara"
    ]


def _delivery(campaign, recipient, status: str, days_ago: int = 0) -> Delivery:
    moment = timezone.now() - timedelta(days=days_ago)
    return Delivery.objects.create(
        campaign=campaign, recipient=recipient, status=status, updated_at=moment
    )


def test_delivery_outcomes_select_by_campaign_or_by_recent_days(population):
    spring = make_campaign(name="Spring")
    autumn = make_campaign(name="Autumn")
    _delivery(spring, population["anna"], "failed", days_ago=20)
    _delivery(spring, population["boris"], "sent", days_ago=20)
    _delivery(autumn, population["boris"], "failed", days_ago=2)
    _delivery(autumn, population["clara"], "skipped", days_ago=2)
    _delivery(autumn, population["dmitri"], "unknown", days_ago=2)
    failed_in_spring = {"status": "failed", "campaign": spring.pk}
    assert selected(rule("delivery", "was", failed_in_spring)) == ["anna"]
    assert selected(rule("delivery", "was_not", failed_in_spring)) == ["boris", "clara", "dmitri"]
    failed_lately = {"status": "failed", "within_days": 7}
    assert selected(rule("delivery", "was", failed_lately)) == ["boris"]
    assert selected(rule("delivery", "was", {"status": "sent", "within_days": 30})) == ["boris"]
    assert selected(rule("delivery", "was", {"status": "skipped", "within_days": 7})) == ["clara"]
    assert selected(rule("delivery", "was", {"status": "unknown", "campaign": autumn.pk})) == [
        "dmitri"
    ]


def test_test_sends_are_not_any_campaign(population):
    draft = make_campaign(name="Draft")
    test_send = make_campaign(name="Test", kind="test", parent=draft)
    _delivery(test_send, population["anna"], "failed")
    assert selected(rule("delivery", "was", {"status": "failed", "within_days": 7})) == []


def _sms(campaign, recipient, kind: str, sms_id: int, days_ago: int = 0, link: str = ""):
    return DeliveryEvent.objects.create(
        type=kind,
        campaign=campaign,
        recipient=recipient,
        sms_id=sms_id,
        link=link,
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def test_sms_events_select_sent_delivered_lost_and_clicked(population):
    campaign = make_campaign(name="SMS", channel="leadconverter")
    _sms(campaign, population["anna"], "sms_sent", 1)
    _sms(campaign, population["anna"], "sms_click", 1, link="https://shop.test/a")
    _sms(campaign, population["boris"], "sms_sent", 2, days_ago=10)
    _sms(campaign, population["clara"], "sms_lost", 3)  # lost arrived before sent
    _sms(campaign, population["clara"], "sms_sent", 3)
    assert selected(rule("sms", "was", {"event": "sent"})) == ["anna", "boris", "clara"]
    assert selected(rule("sms", "was", {"event": "delivered"})) == ["anna", "boris"]
    assert selected(rule("sms", "was", {"event": "lost"})) == ["clara"]
    assert selected(rule("sms", "was", {"event": "clicked"})) == ["anna"]
    assert selected(rule("sms", "was_not", {"event": "clicked"})) == ["boris", "clara", "dmitri"]
    assert selected(rule("sms", "was", {"event": "sent", "within_days": 7})) == ["anna", "clara"]
    link = {"event": "clicked", "link": "https://shop.test/b"}
    assert selected(rule("sms", "was", link)) == []
    assert selected(rule("sms", "was", {"event": "delivered", "campaign": campaign.pk})) == [
        "anna",
        "boris",
    ]


def test_sent_but_did_not_click_is_two_conditions(population):
    campaign = make_campaign(name="SMS", channel="leadconverter")
    _sms(campaign, population["anna"], "sms_sent", 1)
    _sms(campaign, population["anna"], "sms_click", 1)
    _sms(campaign, population["boris"], "sms_sent", 2)
    in_campaign = {"campaign": campaign.pk}
    assert selected(
        rule("sms", "was", {"event": "delivered", **in_campaign}),
        rule("sms", "was_not", {"event": "clicked", **in_campaign}),
    ) == ["boris"]


def test_a_segment_is_counted_by_one_query(population, django_assert_max_num_queries):
    vip = make_audience(population["anna"], name="VIP")
    segment = audience_save(
        audience=None,
        data={
            "name": "Mixed",
            "kind": "segment",
            "rules": {
                "match": "any",
                "rules": [
                    rule("audience", "in", vip.pk),
                    rule("attributes.age", "lt", 20),
                    rule("sms", "was", {"event": "delivered", "within_days": 7}),
                ],
            },
        },
    )
    people = audience_people(segment)  # reads the audience and the registry, once
    with django_assert_max_num_queries(1):
        assert people.count() == 2
