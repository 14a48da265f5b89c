"""The audiences' admin: segments saved through audience_save, the live count, sizes on the list,
recounting, and the members an audience's page lists."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from notifications.audiences.services import audience_members_add, audience_save
from notifications.models import Audience, Recipient, RecipientAttribute
from notifications.recipients.attributes import recipient_attribute_save
from tests.factories import make_recipient

from .test_base import browser_form, messages_of

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:notifications_audience_add")
COUNT_URL = reverse("admin:notifications_audience_count")
LIST_URL = reverse("admin:notifications_audience_changelist")


def change_url(audience: Audience) -> str:
    return reverse("admin:notifications_audience_change", args=[audience.pk])


def city_is(city: str) -> dict:
    return {"match": "all", "rules": [{"field": "attributes.city", "op": "eq", "value": city}]}


@pytest.fixture
def townsfolk():
    """Two recipients in Moscow (one of them gold) and one in Kazan."""
    people = [
        make_recipient(external_id="m-1", attributes={"city": "Moscow", "tier": "gold"}),
        make_recipient(external_id="m-2", attributes={"city": "Moscow", "tier": "silver"}),
        make_recipient(external_id="k-1", attributes={"city": "Kazan", "tier": "gold"}),
    ]
    return people


def static_list(name: str, people) -> Audience:
    audience = audience_save(audience=None, data={"name": name})
    audience_members_add(
        audience=audience, recipients=Recipient.objects.filter(pk__in=[p.pk for p in people])
    )
    audience.refresh_from_db()
    return audience


def recipient_link(person: Recipient) -> str:
    url = reverse("admin:notifications_recipient_change", args=[person.pk])
    return f'<a href="{url}">{person.external_id}</a>'


def shown_ids(members: dict) -> list[str]:
    """The external_ids of the members a page lists."""
    return [row["link"].split(">")[1].split("<")[0] for row in members["rows"]]


def count(client, rules, audience=None):
    return client.post(
        COUNT_URL,
        json.dumps({"rules": rules, "audience": audience.pk if audience else None}),
        content_type="application/json",
    )


def test_a_segment_is_created_with_its_rules_and_counted(staff, townsfolk):
    response = staff.post(
        ADD_URL,
        {"name": "Muscovites", "kind": "segment", "rules": json.dumps(city_is("Moscow"))},
    )
    assert response.status_code == 302
    segment = Audience.objects.get(name="Muscovites")
    assert (segment.kind, segment.rules, segment.size) == ("segment", city_is("Moscow"), 2)


def test_bad_rules_show_beside_the_rules_and_nothing_is_saved(staff, townsfolk):
    rules = {"match": "all", "rules": [{"field": "attributes.shoe", "op": "eq", "value": "42"}]}
    response = staff.post(ADD_URL, {"name": "Shoes", "kind": "segment", "rules": json.dumps(rules)})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"rules": ["Rule 1: no attribute is named 'shoe'."]}
    assert not Audience.objects.filter(name="Shoes").exists()


def test_a_static_list_is_created_without_rules_whatever_the_builder_left(staff):
    response = staff.post(
        ADD_URL, {"name": "VIP", "kind": "static", "rules": json.dumps(city_is("Moscow"))}
    )
    assert response.status_code == 302
    assert Audience.objects.get(name="VIP").rules is None


def test_an_audience_page_shows_its_kind_read_only(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Muscovites", "kind": "segment", "rules": city_is("Moscow")}
    )
    page = staff.get(change_url(segment))
    assert "kind" not in page.context["adminform"].form.fields
    assert "kind" in page.context["adminform"].readonly_fields


def test_a_posted_kind_does_not_change_an_audience(staff, townsfolk):
    audience = static_list("VIP", townsfolk)
    form = browser_form(staff.get(change_url(audience)))
    response = staff.post(change_url(audience), {**form, "kind": "segment"})
    assert response.status_code == 302
    audience.refresh_from_db()
    assert audience.kind == "static"


def test_a_static_list_page_has_no_rules(staff, townsfolk):
    audience = static_list("VIP", townsfolk)
    page = staff.get(change_url(audience))
    assert "rules" not in page.context["adminform"].form.fields


def test_changed_rules_of_a_segment_are_saved_and_recounted(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Moscow")}
    )
    form = browser_form(staff.get(change_url(segment)))
    response = staff.post(change_url(segment), {**form, "rules": json.dumps(city_is("Kazan"))})
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.rules, segment.size) == (city_is("Kazan"), 1)


def test_a_segment_that_includes_itself_is_refused_beside_the_rules(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Moscow")}
    )
    form = browser_form(staff.get(change_url(segment)))
    itself = {"match": "all", "rules": [{"field": "audience", "op": "in", "value": segment.pk}]}
    response = staff.post(change_url(segment), {**form, "rules": json.dumps(itself)})
    assert response.context["adminform"].form.errors == {
        "rules": ["Rule 1: a segment cannot include itself."]
    }
    segment.refresh_from_db()
    assert segment.rules == city_is("Moscow")


def test_the_builder_is_given_the_fields_with_registered_attribute_labels(staff, townsfolk):
    recipient_attribute_save(attribute=RecipientAttribute(name="city"), data={"label": "City"})
    page = staff.get(ADD_URL).content.decode()
    start = page.index('id="segment-vocabulary"')
    vocabulary = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    city = next(f for f in vocabulary["fields"] if f["name"] == "attributes.city")
    assert (city["label"], city["type"]) == ("City", "text")
    assert ["exists", "has a value"] in city["operators"]


def test_the_count_answers_how_many_the_rules_select_and_ten_of_them(staff, townsfolk):
    for number in range(12):
        make_recipient(external_id=f"extra-{number}", attributes={"city": "Moscow"})
    answer = count(staff, city_is("Moscow")).json()
    assert answer["count"] == 14
    assert answer["errors"] == []
    assert [person["external_id"] for person in answer["sample"]] == [
        "m-1",
        "m-2",
        *(f"extra-{number}" for number in range(8)),
    ]


def test_the_count_links_each_sample_recipient_to_their_page(staff, townsfolk):
    answer = count(staff, city_is("Kazan")).json()
    kazan = townsfolk[2]
    assert answer["sample"] == [
        {
            "external_id": "k-1",
            "name": "",
            "url": reverse("admin:notifications_recipient_change", args=[kazan.pk]),
        }
    ]


def test_the_count_of_bad_rules_is_their_problems_and_no_number(staff, townsfolk):
    rules = {
        "match": "all",
        "rules": [
            {"field": "attributes.city", "op": "gt", "value": "Moscow"},
            {"match": "any", "rules": []},
        ],
    }
    response = count(staff, rules)
    assert response.status_code == 400
    assert response.json() == {
        "count": None,
        "sample": [],
        "errors": [
            "Rule 1: 'gt' does not apply to text: use one of eq, ne, contains, starts_with, in, "
            "empty, not_empty, exists, missing.",
            "Rule 2: the group has no rules.",
        ],
    }


def test_the_count_of_a_body_that_is_not_json_is_a_400(staff):
    response = staff.post(COUNT_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == ['The request is {"rules": {...}, "audience": id}.']


def test_the_count_refuses_rules_that_include_the_segment_edited(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Moscow")}
    )
    itself = {"match": "all", "rules": [{"field": "audience", "op": "in", "value": segment.pk}]}
    assert count(staff, itself, segment).json()["errors"] == [
        "Rule 1: a segment cannot include itself."
    ]


def test_the_count_is_refused_to_staff_who_may_not_view_audiences(client, townsfolk):
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_recipient"))
    client.force_login(user)
    assert count(client, city_is("Moscow")).status_code == 403


def test_the_count_answers_staff_who_may_only_view_audiences(client, townsfolk):
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audience"))
    client.force_login(user)
    assert count(client, city_is("Moscow")).json()["count"] == 2


def test_the_count_takes_only_post(staff):
    assert staff.get(COUNT_URL).status_code == 405


def test_the_list_shows_a_static_lists_exact_size_linked_to_its_members(staff, townsfolk):
    audience = static_list("VIP", townsfolk[:2])
    page = staff.get(LIST_URL).content.decode()
    assert f'<a href="{change_url(audience)}#members" class="audience-size">2</a>' in page


def test_the_list_shows_a_segments_last_count_with_its_age(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Moscow")}
    )
    Audience.objects.filter(pk=segment.pk).update(
        size_counted_at=timezone.now() - timedelta(minutes=3)
    )
    page = staff.get(LIST_URL).content.decode()
    assert (
        f'<a href="{change_url(segment)}#members" class="audience-size">≈ 2</a> '
        '<span class="counted">counted 3 min ago</span>'
    ) in page


def test_the_list_says_when_a_segment_was_counted_just_now(staff, townsfolk):
    audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Moscow")}
    )
    assert "counted just now" in staff.get(LIST_URL).content.decode()


def test_recount_sizes_counts_the_selected_segments_again(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Moscow")}
    )
    make_recipient(external_id="m-3", attributes={"city": "Moscow"})
    response = staff.post(
        LIST_URL,
        {"action": "recount_sizes", "_selected_action": [segment.pk]},
        follow=True,
    )
    segment.refresh_from_db()
    assert segment.size == 3
    assert "Recounted 1 segment." in messages_of(response)


def test_recount_sizes_leaves_a_static_lists_size_and_says_why(staff, townsfolk):
    audience = static_list("VIP", townsfolk)
    response = staff.post(
        LIST_URL,
        {"action": "recount_sizes", "_selected_action": [audience.pk]},
        follow=True,
    )
    assert messages_of(response) == [
        "Recounted 0 segments.",
        "1 static list left as it is: a static list's size is always exact.",
    ]


def test_a_static_lists_page_lists_its_members_and_their_total(staff, townsfolk):
    audience = static_list("VIP", townsfolk[:2])
    members = staff.get(change_url(audience)).context["members"]
    assert members["total"] == audience.size == 2
    assert [row["link"] for row in members["rows"]] == [recipient_link(p) for p in townsfolk[:2]]


def test_a_segments_page_lists_who_its_rules_select_now(staff, townsfolk):
    segment = audience_save(
        audience=None, data={"name": "Town", "kind": "segment", "rules": city_is("Kazan")}
    )
    make_recipient(external_id="k-2", attributes={"city": "Kazan"})
    members = staff.get(change_url(segment)).context["members"]
    assert members["total"] == 2
    assert shown_ids(members) == ["k-1", "k-2"]


@pytest.mark.parametrize(
    ("query", "found"),
    [("m-2", ["m-2"]), ("+7 (900) 000-00-02", ["m-2"]), ("ivan", ["m-1", "k-1"])],
    ids=["external_id", "phone", "part of the last name"],
)
def test_members_are_searched_by_external_id_phone_or_last_name(staff, query, found):
    people = [
        make_recipient(external_id="m-1", last_name="Ivanov", phone="79000000001"),
        make_recipient(external_id="m-2", last_name="Petrov", phone="79000000002"),
        make_recipient(external_id="k-1", last_name="Ivanova", phone="79000000003"),
    ]
    audience = static_list("VIP", people)
    members = staff.get(change_url(audience), {"members_q": query}).context["members"]
    assert shown_ids(members) == found
    assert members["total"] == len(found)


def test_members_come_50_a_page_and_the_pages_add_up_to_the_total(staff):
    people = [make_recipient(external_id=f"p-{n:03}") for n in range(120)]
    audience = static_list("Big", people)
    seen, url = [], change_url(audience)
    pages = ["?"]
    while pages[-1]:
        members = staff.get(url + pages[-1].split("#")[0]).context["members"]
        seen += [row["link"] for row in members["rows"]]
        pages.append(members["next"])
    assert [len(p) > 0 for p in pages] == [True, True, True, False]
    assert len(seen) == len(set(seen)) == members["total"] == audience.size == 120


def test_a_search_is_kept_on_the_next_page_of_members(staff):
    people = [make_recipient(external_id=f"p-{n:03}", last_name="Smith") for n in range(60)]
    audience = static_list("Smiths", people)
    members = staff.get(change_url(audience), {"members_q": "smith"}).context["members"]
    assert members["next"] == "?members_q=smith&members_page=2#members"


def test_the_csv_import_page_still_opens_from_the_audience_list(staff):
    page = staff.get(LIST_URL).content.decode()
    assert reverse("admin:notifications_audience_import") in page
    assert staff.get(reverse("admin:notifications_audience_import")).status_code == 200


@pytest.mark.parametrize(
    ("value", "what"),
    [("Mo\x00scow", "a NUL character"), ("\ud800", "half of a surrogate pair")],
    ids=["NUL", "half a surrogate pair"],
)
def test_the_count_refuses_a_value_no_database_stores(staff, townsfolk, value, what):
    response = count(staff, city_is(value))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        f"Rule 1: the value contains {what}, which cannot be stored."
    ]


def test_rules_naming_half_a_surrogate_pair_are_refused_on_the_page(staff):
    rules = {"match": "all", "rules": [{"field": "attributes.\ud800", "op": "exists"}]}
    response = staff.post(ADD_URL, {"name": "Odd", "kind": "segment", "rules": json.dumps(rules)})
    assert response.context["adminform"].form.errors == {
        "rules": ["Rule 1: no attribute is named '\\ud800'."]
    }
    assert "\\ud800" in response.content.decode()


def test_rules_nested_deeper_than_json_decodes_are_refused_on_the_page(staff):
    rules = "[" * 100_000 + "]" * 100_000
    response = staff.post(ADD_URL, {"name": "Deep", "kind": "segment", "rules": rules})
    assert response.context["adminform"].form.errors == {"rules": ["The rules nest too deep."]}
    assert not Audience.objects.filter(name="Deep").exists()
