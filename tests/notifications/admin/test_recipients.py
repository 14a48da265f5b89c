"""The recipients' admin: the recipient page, bad input as form errors, and the CSV import."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from notifications.audiences.services import audience_save
from notifications.models import (
    Audience,
    AudienceMember,
    Delivery,
    Recipient,
    RecipientAttribute,
)
from tests.factories import make_audience, make_campaign, make_recipient
from tests.notifications.admin.test_base import browser_form, messages_of

pytestmark = pytest.mark.django_db


pytestmark = pytest.mark.django_db


def test_recipient_page_shows_audiences_deliveries_and_events(staff, sample_rows):
    page = staff.get(reverse("admin:notifications_recipient_change", args=[sample_rows.pk]))
    html = page.content.decode()
    assert "Everyone" in html
    assert f'?recipient__id__exact={sample_rows.pk}">All deliveries of this recipient' in html
    assert "<td>sent</td>" in html


def test_recipient_history_shows_the_newest_rows_only(staff):
    recipient = make_recipient()
    campaigns = [make_campaign(name=f"c{i:02}") for i in range(25)]
    Delivery.objects.bulk_create(Delivery(campaign=c, recipient=recipient) for c in campaigns)
    html = staff.get(reverse("admin:notifications_recipient_change", args=[recipient.pk])).content
    html = html.decode()
    assert ">c24</a>" in html
    assert ">c05</a>" in html
    assert ">c04</a>" not in html


def test_a_duplicate_external_id_is_a_form_error(staff):
    make_recipient(external_id="c-1", first_name="Original")
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-1",
            "first_name": "Copy",
            "attributes": "{}",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Recipient with this External id already exists." in response.content.decode()
    assert Recipient.objects.get(external_id="c-1").first_name == "Original"


def test_a_bad_address_is_a_form_error_on_its_inline(staff):
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-9",
            "attributes": "{}",
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-0-channel": "yandex_market",
            "addresses-0-value": "chat-abc",
        },
    )
    assert "Yandex Market chatId must be a positive whole number" in response.content.decode()
    assert not Recipient.objects.exists()


def test_csv_import_checks_the_file_first_and_imports_only_on_confirmation(staff):
    upload = SimpleUploadedFile(
        "people.csv", b"external_id,phone\nc-1,79990000001\nc-2,oops\n", content_type="text/csv"
    )
    url = reverse("admin:notifications_audience_import")
    check = staff.post(url, {"file": upload, "new_audience": "Spring"})
    html = check.content.decode()
    assert check.status_code == 200
    assert "nothing is imported yet" in html
    assert "&#x27;oops&#x27; is not a phone number" in html
    assert not Recipient.objects.exists()
    assert not Audience.objects.filter(name="Spring").exists()

    token = check.context["pending"]["token"]
    done = staff.post(url, {"confirm": token}, follow=True)
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in done.content.decode()
    assert list(
        Audience.objects.get(name="Spring").members.values_list("external_id", flat=True)
    ) == ["c-1"]


def test_a_checked_import_cannot_be_confirmed_twice(staff):
    upload = SimpleUploadedFile("people.csv", b"external_id\nc-1\n", content_type="text/csv")
    url = reverse("admin:notifications_audience_import")
    token = staff.post(url, {"file": upload, "new_audience": "Once"}).context["pending"]["token"]
    staff.post(url, {"confirm": token})
    again = staff.post(url, {"confirm": token}, follow=True)
    assert "That check has expired" in again.content.decode()
    assert Recipient.objects.count() == 1


def test_a_dry_run_into_an_existing_audience_counts_updates(staff):
    make_recipient(external_id="c-1", first_name="Old")
    audience = make_audience()
    upload = SimpleUploadedFile(
        "people.csv", b"external_id,first_name\nc-1,New\nc-2,Bo\n", content_type="text/csv"
    )
    check = staff.post(
        reverse("admin:notifications_audience_import"), {"file": upload, "audience": audience.pk}
    )
    report = check.context["report"]
    assert (report.created, report.updated, len(report.rejected)) == (1, 1, 0)
    assert Recipient.objects.get(external_id="c-1").first_name == "Old"


def test_csv_import_page_refuses_a_bad_file_without_importing(staff):
    upload = SimpleUploadedFile("people.csv", b"id,phone\n1,2\n", content_type="text/csv")
    audience = make_audience()
    response = staff.post(
        reverse("admin:notifications_audience_import"), {"file": upload, "audience": audience.pk}
    )
    assert "The header has no external_id column" in response.content.decode()
    assert not Recipient.objects.exists()


def test_csv_import_needs_permission_to_change_recipients(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_audience"))
    client.force_login(user)
    assert client.get(reverse("admin:notifications_audience_import")).status_code == 403


# --- A recipient's page: typed attributes and audiences. -----------------------------------


def recipient_page(client, recipient: Recipient):
    return client.get(reverse("admin:notifications_recipient_change", args=[recipient.pk]))


def save_recipient_page(client, recipient: Recipient, **changes):
    """Open the recipient's page, change fields as a person would, and save."""
    data = browser_form(recipient_page(client, recipient))
    data.update(changes)
    return client.post(reverse("admin:notifications_recipient_change", args=[recipient.pk]), data)


def register(name: str, kind: str = "text", label: str = "") -> RecipientAttribute:
    return RecipientAttribute.objects.update_or_create(
        name=name, defaults={"type": kind, "label": label}
    )[0]


def test_a_number_attribute_accepts_a_decimal_and_is_stored_as_a_number(staff):
    register("score", "number")
    recipient = make_recipient()
    save_recipient_page(staff, recipient, attribute__score="4.5")
    recipient.refresh_from_db()
    assert recipient.attributes == {"score": 4.5}


def test_a_date_attribute_is_edited_in_a_date_input_and_stored_as_an_iso_date(staff):
    register("birthday", "date", label="Birthday")
    recipient = make_recipient()
    html = recipient_page(staff, recipient).content.decode()
    assert 'type="date" name="attribute__birthday"' in html
    save_recipient_page(staff, recipient, attribute__birthday="1990-05-17")
    recipient.refresh_from_db()
    assert recipient.attributes == {"birthday": "1990-05-17"}


def test_a_boolean_attribute_is_chosen_from_yes_no_or_unset(staff):
    register("vip", "boolean")
    recipient = make_recipient(attributes={"vip": True})
    html = recipient_page(staff, recipient).content.decode()
    assert '<option value="true" selected>Yes</option>' in html
    save_recipient_page(staff, recipient, attribute__vip="false")
    recipient.refresh_from_db()
    assert recipient.attributes == {"vip": False}


def test_an_attribute_field_is_labelled_with_the_attributes_label(staff):
    register("tier", label="Loyalty tier")
    html = recipient_page(staff, make_recipient()).content.decode()
    assert '<label for="id_attribute__tier">Loyalty tier:</label>' in html


def test_an_emptied_attribute_field_removes_the_value(staff):
    register("city")
    recipient = make_recipient(attributes={"city": "Kazan", "tier": "gold"})
    save_recipient_page(staff, recipient, attribute__city="")
    recipient.refresh_from_db()
    assert recipient.attributes == {"tier": "gold"}


def test_values_of_attributes_not_in_the_registry_stay_when_a_recipient_is_saved(staff):
    register("city")
    recipient = make_recipient(attributes={"city": "Kazan"})
    Recipient.objects.filter(pk=recipient.pk).update(attributes={"city": "Kazan", "legacy": "kept"})
    save_recipient_page(staff, recipient, first_name="Ann", attribute__city="Omsk")
    recipient.refresh_from_db()
    assert recipient.attributes == {"city": "Omsk", "legacy": "kept"}


def test_an_attribute_another_person_changed_meanwhile_stays_when_staff_did_not_touch_it(staff):
    register("city")
    register("tier")
    recipient = make_recipient(attributes={"city": "Kazan", "tier": "silver"})
    data = browser_form(recipient_page(staff, recipient))
    Recipient.objects.filter(pk=recipient.pk).update(attributes={"city": "Kazan", "tier": "gold"})
    data["attribute__city"] = "Omsk"
    staff.post(reverse("admin:notifications_recipient_change", args=[recipient.pk]), data)
    recipient.refresh_from_db()
    assert recipient.attributes == {"city": "Omsk", "tier": "gold"}


def test_a_value_recipient_save_would_refuse_is_a_form_error_and_nothing_is_saved(staff):
    register("city")
    recipient = make_recipient(attributes={"city": "Kazan"})
    # Old data: a value of a name not in the registry that no attribute type can hold.
    Recipient.objects.filter(pk=recipient.pk).update(attributes={"city": "Kazan", "x": {"a": 1}})
    response = save_recipient_page(staff, recipient, attribute__city="Omsk")
    assert response.status_code == 200
    assert "x: {&#x27;a&#x27;: 1} is not text." in response.content.decode()
    recipient.refresh_from_db()
    assert recipient.attributes["city"] == "Kazan"


def test_a_number_attribute_refuses_text_beside_its_field(staff):
    register("score", "number")
    recipient = make_recipient()
    response = save_recipient_page(staff, recipient, attribute__score="many")
    assert response.context["adminform"].form.errors == {"attribute__score": ["Enter a number."]}


def test_a_recipients_page_adds_and_removes_them_from_static_audiences(staff):
    recipient = make_recipient()
    leaving = make_audience(recipient, name="Leaving")
    Audience.objects.filter(pk=leaving.pk).update(size=1)
    joining = make_audience(name="Joining")
    save_recipient_page(staff, recipient, audiences=[str(joining.pk)])
    assert list(recipient.audiences.all()) == [joining]
    sizes = dict(Audience.objects.values_list("name", "size"))
    assert sizes == {"Joining": 1, "Leaving": 0}


def test_a_recipients_page_does_not_offer_segments_as_audiences(staff):
    recipient = make_recipient()
    audience_save(audience=None, data={"name": "Gold", "kind": "segment", "rules": everyone()})
    form = recipient_page(staff, recipient).context["adminform"].form
    assert "Gold" not in [str(a) for a in form.fields["audiences"].queryset]


def test_a_recipients_page_lists_the_segments_that_hold_them_read_only(staff):
    recipient = make_recipient(external_id="c-7")
    audience_save(audience=None, data={"name": "Gold", "kind": "segment", "rules": everyone()})
    audience_save(audience=None, data={"name": "Nobody", "kind": "segment", "rules": nobody()})
    html = recipient_page(staff, recipient).content.decode()
    assert "Also in segments" in html
    assert ">Gold</a>" in html
    assert "Nobody" not in html


def test_staff_who_may_not_change_audiences_cannot_change_a_recipients(client, django_user_model):
    recipient = make_recipient()
    audience = make_audience(name="Joining")
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    for codename in ("view_recipient", "change_recipient", "view_audience"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    save_recipient_page(client, recipient, audiences=[str(audience.pk)])
    assert not recipient.audiences.exists()


def everyone() -> dict:
    return {"match": "all", "rules": [{"field": "external_id", "op": "starts_with", "value": "c"}]}


def nobody() -> dict:
    return {"match": "all", "rules": [{"field": "external_id", "op": "eq", "value": "zz"}]}


# --- The list's actions: add to a static audience, remove from one. ------------------------


def changelist(query: str = "") -> str:
    return reverse("admin:notifications_recipient_changelist") + query


def run_action(client, action: str, recipients, *, query: str = "", across: bool = False, **form):
    """Choose the action on the list, then confirm its page with `form`; the final page."""
    chosen = {
        "action": action,
        "select_across": "1" if across else "0",
        "index": "0",
        "_selected_action": [r.pk for r in recipients],
    }
    page = client.post(changelist(query), chosen)
    assert page.status_code == 200
    data = browser_form(page)
    data.update(form)
    return client.post(changelist(query), data, follow=True)


def test_adding_selected_recipients_says_how_many_were_members_already(staff):
    people = [make_recipient() for _ in range(3)]
    audience = make_audience(people[0], name="Spring")
    Audience.objects.filter(pk=audience.pk).update(size=1)
    done = run_action(staff, "add_to_audience", people, audience=str(audience.pk))
    assert messages_of(done) == ["Added 2 to 'Spring' (1 was a member already)."]
    assert set(audience.members.all()) == set(people)


def test_the_action_page_counts_the_selected_recipients(staff):
    people = [make_recipient() for _ in range(2)]
    page = staff.post(
        changelist(),
        {"action": "add_to_audience", "index": "0", "_selected_action": [p.pk for p in people]},
    )
    assert "Add 2 recipients selected to this audience" in page.content.decode()


def test_select_all_adds_every_recipient_matching_the_filters_and_search_across_pages(staff):
    matching = Recipient.objects.bulk_create(
        Recipient(external_id=f"m-{i}", last_name="Smith") for i in range(120)
    )
    opted_out = make_recipient(last_name="Smith", opted_out_at=timezone.now())
    other_name = make_recipient(last_name="Jones")
    audience = make_audience(name="Smiths")
    query = "?opted_out_at__isempty=1&q=Smith"
    shown_page = matching[-100:]
    page = staff.post(
        changelist(query),
        {
            "action": "add_to_audience",
            "select_across": "1",
            "index": "0",
            "_selected_action": [r.pk for r in shown_page],
        },
    )
    assert "Add 120 recipients matching your filters and search" in page.content.decode()
    data = browser_form(page)
    data["audience"] = str(audience.pk)
    done = staff.post(changelist(query), data, follow=True)
    assert messages_of(done) == ["Added 120 to 'Smiths' (0 were members already)."]
    members = set(audience.members.values_list("pk", flat=True))
    assert members == {r.pk for r in matching}
    assert not {opted_out.pk, other_name.pk} & members


def test_removing_recipients_says_how_many_were_not_members(staff):
    people = [make_recipient() for _ in range(3)]
    audience = make_audience(*people[:2], name="Spring")
    Audience.objects.filter(pk=audience.pk).update(size=2)
    done = run_action(staff, "remove_from_audience", people, audience=str(audience.pk))
    assert messages_of(done) == ["Removed 2 from 'Spring' (1 was not a member)."]
    assert Audience.objects.get(pk=audience.pk).size == 0


def test_adding_to_a_new_audience_name_creates_it(staff):
    person = make_recipient()
    done = run_action(staff, "add_to_audience", [person], new_audience="Autumn")
    assert messages_of(done) == ["Added 1 to 'Autumn' (0 were members already)."]
    assert list(Audience.objects.get(name="Autumn").members.all()) == [person]


def test_a_new_audience_name_taken_is_an_error_beside_it(staff):
    person = make_recipient()
    audience_save(audience=None, data={"name": "Gold", "kind": "segment", "rules": everyone()})
    page = run_action(staff, "add_to_audience", [person], new_audience="Gold")
    assert page.context["form"].errors == {
        "new_audience": ["'Gold' is a segment: name another audience."]
    }


def test_the_action_page_does_not_offer_segments(staff):
    person = make_recipient()
    segment = audience_save(
        audience=None, data={"name": "Gold", "kind": "segment", "rules": everyone()}
    )
    page = run_action(staff, "add_to_audience", [person], audience=str(segment.pk))
    assert "audience" in page.context["form"].errors
    assert not AudienceMember.objects.exists()


def membership_clerk(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    for codename in ("view_recipient", "view_audience", *codenames):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_only_staff_who_may_add_audiences_are_offered_a_new_name(client, django_user_model):
    client.force_login(membership_clerk(django_user_model, "change_audience"))
    page = client.post(
        changelist(),
        {"action": "add_to_audience", "index": "0", "_selected_action": [make_recipient().pk]},
    )
    assert "new_audience" not in page.context["form"].fields


def test_the_membership_actions_need_permission_to_change_audiences(client, django_user_model):
    client.force_login(membership_clerk(django_user_model, "change_recipient", "delete_recipient"))
    actions = client.get(changelist()).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions if "audience" in name] == []


def test_the_audience_filter_shows_a_segments_people(staff):
    make_recipient(external_id="c-1")
    make_recipient(external_id="d-2")
    segment = audience_save(
        audience=None, data={"name": "Gold", "kind": "segment", "rules": everyone()}
    )
    page = staff.get(changelist(f"?audience={segment.pk}"))
    assert [r.external_id for r in page.context["cl"].result_list] == ["c-1"]


def test_a_time_zone_that_is_not_one_is_an_error_beside_the_field(staff):
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-1",
            "timezone": "Moscow",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "is not a time zone" in str(response.context["adminform"].form.errors["timezone"])
    assert not Recipient.objects.exists()


def test_a_recipients_time_zone_is_saved_from_their_page(staff):
    response = staff.post(
        reverse("admin:notifications_recipient_add"),
        {
            "external_id": "c-1",
            "timezone": "Australia/Lord_Howe",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert Recipient.objects.get().timezone == "Australia/Lord_Howe"
