"""Test lists in the admin: everyone with view_recipient keeps their own, the shared one is
changed only with the test recipient's permissions, and the cap is a clear message."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from notifications.models import SeedRecipient
from notifications.recipients.seeds import MAX_SEED_RECIPIENTS
from tests.factories import make_recipient

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:notifications_seedrecipient_changelist")
ADD_URL = reverse("admin:notifications_seedrecipient_add")
RECIPIENTS_URL = reverse("admin:notifications_recipient_changelist")


def staff(django_user_model, name: str, *codenames: str):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_recipient", *codenames])
    )
    return user


def test_the_list_shows_my_own_and_the_shared_entries_with_their_channels(
    client, django_user_model
):
    me = staff(django_user_model, "anna")
    other = staff(django_user_model, "boris")
    mine = make_recipient(first_name="Anna", external_id="anna-1", addresses={"leadconverter": "7"})
    shared = make_recipient(first_name="Team", external_id="team-1")
    theirs = make_recipient(first_name="Boris", external_id="boris-1")
    SeedRecipient.objects.create(recipient=mine, owner=me)
    SeedRecipient.objects.create(recipient=shared, owner=None)
    SeedRecipient.objects.create(recipient=theirs, owner=other)
    client.force_login(me)

    html = client.get(LIST_URL).content.decode()

    assert "anna-1" in html
    assert "team-1" in html
    assert "boris-1" not in html
    assert "LeadConverter" in html  # Anna has an address there
    assert "Everyone&#x27;s" in html
    assert "Mine" in html


def test_anyone_who_sees_recipients_adds_to_their_own_list_but_not_the_shared_one(
    client, django_user_model
):
    me = staff(django_user_model, "anna")
    person = make_recipient(external_id="anna-1")
    client.force_login(me)

    form = client.get(ADD_URL).content.decode()
    assert 'value="everyone"' not in form
    response = client.post(ADD_URL, {"recipient": person.pk, "whose": "me"})
    assert response.status_code == 302
    assert SeedRecipient.objects.filter(recipient=person, owner=me).exists()

    refused = client.post(ADD_URL, {"recipient": person.pk, "whose": "everyone"})
    assert refused.status_code == 200  # the form again, with the choice refused
    assert not SeedRecipient.objects.filter(owner__isnull=True).exists()


def test_only_staff_with_the_permission_change_the_shared_list(client, django_user_model):
    me = staff(django_user_model, "anna", "add_seedrecipient", "delete_seedrecipient")
    person = make_recipient(external_id="team-1")
    client.force_login(me)

    client.post(ADD_URL, {"recipient": person.pk, "whose": "everyone"})
    entry = SeedRecipient.objects.get(recipient=person, owner__isnull=True)
    client.post(
        reverse("admin:notifications_seedrecipient_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert not SeedRecipient.objects.filter(pk=entry.pk).exists()


def test_without_the_permission_a_shared_entry_cannot_be_removed_but_my_own_can(
    client, django_user_model
):
    me = staff(django_user_model, "anna")
    shared = SeedRecipient.objects.create(recipient=make_recipient(), owner=None)
    own = SeedRecipient.objects.create(recipient=make_recipient(), owner=me)
    client.force_login(me)

    delete = "admin:notifications_seedrecipient_delete"
    assert client.post(reverse(delete, args=[shared.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse(delete, args=[own.pk]), {"post": "yes"}).status_code == 302
    assert list(SeedRecipient.objects.all()) == [shared]


def test_the_recipient_list_adds_the_selected_to_my_test_list(client, django_user_model):
    me = staff(django_user_model, "anna")
    people = [make_recipient(), make_recipient()]
    client.force_login(me)

    response = client.post(
        RECIPIENTS_URL,
        {"action": "add_to_my_test_list", "_selected_action": [p.pk for p in people]},
        follow=True,
    )

    assert "Added 2 to your test list." in response.content.decode()
    assert set(SeedRecipient.objects.filter(owner=me).values_list("recipient_id", flat=True)) == {
        p.pk for p in people
    }


def test_the_shared_list_action_is_offered_only_with_the_permission(client, django_user_model):
    client.force_login(staff(django_user_model, "anna"))
    assert "add_to_shared_test_list" not in client.get(RECIPIENTS_URL).content.decode()
    client.force_login(staff(django_user_model, "boris", "add_seedrecipient"))
    page = client.get(RECIPIENTS_URL).content.decode()
    assert "add_to_shared_test_list" in page
    person = make_recipient()
    client.post(
        RECIPIENTS_URL, {"action": "add_to_shared_test_list", "_selected_action": [person.pk]}
    )
    assert SeedRecipient.objects.filter(recipient=person, owner__isnull=True).exists()


def test_the_cap_is_a_clear_message_and_nothing_is_added(client, django_user_model):
    me = staff(django_user_model, "anna")
    people = [make_recipient() for _ in range(MAX_SEED_RECIPIENTS + 1)]
    client.force_login(me)

    response = client.post(
        RECIPIENTS_URL,
        {"action": "add_to_my_test_list", "_selected_action": [p.pk for p in people]},
        follow=True,
    )

    assert f"A test list holds at most {MAX_SEED_RECIPIENTS} people" in response.content.decode()
    assert not SeedRecipient.objects.exists()
