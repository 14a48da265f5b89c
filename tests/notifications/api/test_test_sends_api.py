"""Test sends through the API: to the test lists or chosen people, with what was sent and what
the provider said; the test lists themselves; and the campaign list's kinds."""

import pytest

from notifications.campaigns.direct import campaign_send_test
from notifications.models import Campaign, Recipient, SeedRecipient
from notifications.recipients.seeds import seed_recipients_add
from tests.factories import make_campaign, make_recipient, make_template
from tests.notifications.api.conftest import session_of, staff_with
from tests.notifications.api.test_campaign_desk_api import REPLAYED, pushes_sent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_imshop(settings):
    settings.IMSHOP_RATE = "1000/s"
    settings.IMSHOP_BURST = 1000


# --- Test sends ------------------------------------------------------------------------------


def test_a_test_send_to_the_test_lists_reaches_the_callers_own_and_the_shared_one():
    user = staff_with("view_campaign", "dispatch_campaign")
    mine, shared, others = (make_recipient(external_id=e) for e in ("mine", "shared", "other"))
    seed_recipients_add(recipients=Recipient.objects.filter(pk=mine.pk), owner=user)
    seed_recipients_add(recipients=Recipient.objects.filter(pk=shared.pk))
    someone = staff_with()
    seed_recipients_add(recipients=Recipient.objects.filter(pk=others.pk), owner=someone)
    campaign = make_campaign(name="Sale")
    response = session_of(user).post(
        f"/api/campaigns/{campaign.pk}/send-test/", {"seed": True}, format="json"
    )
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert Campaign.objects.get(pk=answer["id"]).parent_id == campaign.pk
    assert [d["recipient_external_id"] for d in answer["deliveries"]] == ["mine", "shared"]


def test_an_api_keys_test_to_the_test_lists_reaches_the_shared_one_only(api):
    mine, shared = make_recipient(external_id="mine"), make_recipient(external_id="shared")
    seed_recipients_add(recipients=Recipient.objects.filter(pk=mine.pk), owner=staff_with())
    seed_recipients_add(recipients=Recipient.objects.filter(pk=shared.pk))
    campaign = make_campaign()
    answer = api.post(
        f"/api/campaigns/{campaign.pk}/send-test/",
        {"seed": True, "recipient_ids": [mine.pk]},
        format="json",
    ).json()
    assert [d["recipient_external_id"] for d in answer["deliveries"]] == ["mine", "shared"]


def test_a_test_send_to_empty_test_lists_is_a_400_on_seed(api):
    response = api.post(
        f"/api/campaigns/{make_campaign().pk}/send-test/", {"seed": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "seed": ["The test lists are empty: add people at /api/test-recipients/."]
    }


def test_a_test_send_to_an_unknown_recipient_or_nobody_is_a_400_on_recipients(api):
    url = f"/api/campaigns/{make_campaign().pk}/send-test/"
    assert api.post(url, {"recipients": ["nope"]}, format="json").json() == {
        "recipients": ["No recipient has external_id nope."]
    }
    assert api.post(url, {}, format="json").json() == {
        "recipients": ["Choose at least one recipient to send the test to."]
    }
    assert not Campaign.objects.filter(kind=Campaign.Kind.TEST).exists()


def test_a_repeated_test_send_with_its_key_sends_once(api):
    make_recipient(external_id="me")
    url = f"/api/campaigns/{make_campaign().pk}/send-test/"
    headers = {"HTTP_IDEMPOTENCY_KEY": "test-1"}
    first = api.post(url, {"recipients": ["me"]}, format="json", **headers)
    again = api.post(url, {"recipients": ["me"]}, format="json", **headers)
    assert again.json() == first.json()
    assert again[REPLAYED] == "true"
    assert Campaign.objects.filter(kind=Campaign.Kind.TEST).count() == 1


def test_a_test_send_needs_the_dispatch_permission(reader):
    make_recipient(external_id="me")
    url = f"/api/campaigns/{make_campaign().pk}/send-test/"
    editor = session_of(staff_with("view_campaign", "change_campaign"))
    for client in (reader, editor):
        assert client.post(url, {"recipients": ["me"]}, format="json").status_code == 403
    assert not Campaign.objects.filter(kind=Campaign.Kind.TEST).exists()


def test_a_campaigns_tests_show_the_rendered_message_and_the_providers_answer(api, reader):
    make_recipient(external_id="me", first_name="Anna")
    template = make_template(title="Hi", body="Hello {{ first_name }}")
    campaign = make_campaign(template=template)
    test_id = api.post(
        f"/api/campaigns/{campaign.pk}/send-test/", {"recipients": ["me"]}, format="json"
    ).json()["id"]
    assert pushes_sent(test_id) == ["Hello Anna"]
    tests = reader.get(f"/api/campaigns/{campaign.pk}/tests/").json()["results"]
    assert [test["id"] for test in tests] == [test_id]
    (delivery,) = tests[0]["deliveries"]
    assert delivery["recipient_external_id"] == "me"
    assert delivery["status"] == "sent"
    assert delivery["content"]["body"] == "Hello Anna"
    assert delivery["provider_response"] == {"status_code": 200, "body": {"success": True}}


def test_the_campaign_list_has_every_kind_and_filters_by_kind(api):
    make_recipient(external_id="me")
    campaign = make_campaign()
    test = campaign_send_test(campaign_id=campaign.pk, external_ids=["me"])
    everything = {c["id"] for c in api.get("/api/campaigns/").json()["results"]}
    assert everything == {campaign.pk, test.pk}
    only_tests = api.get("/api/campaigns/?kind=test").json()["results"]
    assert [c["id"] for c in only_tests] == [test.pk]
    campaigns = api.get("/api/campaigns/?kind=campaign").json()["results"]
    assert [c["id"] for c in campaigns] == [campaign.pk]


# --- Test lists ------------------------------------------------------------------------------


def test_staff_who_may_view_recipients_keep_their_own_test_list():
    user = staff_with("view_recipient")
    make_recipient(external_id="me")
    client = session_of(user)
    response = client.post("/api/test-recipients/", {"external_id": "me"}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["external_id"], response.json()["shared"]) == ("me", False)
    again = client.post("/api/test-recipients/", {"external_id": "me"}, format="json")
    assert again.status_code == 200
    assert SeedRecipient.objects.filter(owner=user).count() == 1
    entry_id = response.json()["id"]
    assert client.delete(f"/api/test-recipients/{entry_id}/").status_code == 204
    assert not SeedRecipient.objects.exists()


def test_the_list_shows_the_callers_own_and_the_shared_entries_not_anyone_elses():
    user, other = staff_with("view_recipient"), staff_with()
    for external_id, owner in (("mine", user), ("shared", None), ("theirs", other)):
        recipient = make_recipient(external_id=external_id)
        seed_recipients_add(recipients=Recipient.objects.filter(pk=recipient.pk), owner=owner)
    listed = session_of(user).get("/api/test-recipients/").json()["results"]
    assert sorted((e["external_id"], e["shared"]) for e in listed) == [
        ("mine", False),
        ("shared", True),
    ]
    theirs = SeedRecipient.objects.get(owner=other)
    assert session_of(user).delete(f"/api/test-recipients/{theirs.pk}/").status_code == 404


def test_the_shared_list_needs_the_test_recipient_permissions():
    make_recipient(external_id="me")
    viewer = session_of(staff_with("view_recipient"))
    response = viewer.post(
        "/api/test-recipients/", {"external_id": "me", "shared": True}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your account may not do this: it lacks the permission "
        "notifications.add_seedrecipient."
    }
    manager = session_of(staff_with("view_recipient", "add_seedrecipient"))
    added = manager.post(
        "/api/test-recipients/", {"external_id": "me", "shared": "true"}, format="json"
    )
    assert (added.status_code, added.json()["shared"]) == (201, True)
    entry = f"/api/test-recipients/{added.json()['id']}/"
    assert viewer.delete(entry).json() == {
        "detail": "Your account may not do this: it lacks the permission "
        "notifications.delete_seedrecipient."
    }
    assert SeedRecipient.objects.filter(owner=None).count() == 1


def test_an_api_key_manages_the_shared_list_only_and_a_read_only_key_none(api, reader):
    make_recipient(external_id="me")
    own = api.post("/api/test-recipients/", {"external_id": "me"}, format="json")
    assert own.status_code == 400
    assert own.json() == {
        "shared": ["An API key has no test list of its own: use the shared one (true)."]
    }
    refused = reader.post(
        "/api/test-recipients/", {"external_id": "me", "shared": True}, format="json"
    )
    assert refused.status_code == 403
    added = api.post("/api/test-recipients/", {"external_id": "me", "shared": True}, format="json")
    assert added.status_code == 201
    entry = f"/api/test-recipients/{added.json()['id']}/"
    assert [e["external_id"] for e in reader.get("/api/test-recipients/").json()["results"]] == [
        "me"
    ]
    assert reader.delete(entry).status_code == 403
    assert api.delete(entry).status_code == 204


def test_an_unknown_recipient_or_a_full_list_is_a_400_on_external_id(api):
    response = api.post(
        "/api/test-recipients/", {"external_id": "nope", "shared": True}, format="json"
    )
    assert response.json() == {"external_id": ["No recipient has external_id nope."]}
    people = [make_recipient(external_id=f"p-{i}") for i in range(51)]
    seed_recipients_add(recipients=Recipient.objects.filter(pk__in=[p.pk for p in people[:50]]))
    response = api.post(
        "/api/test-recipients/", {"external_id": "p-50", "shared": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "external_id": [
            "A test list holds at most 50 people; the shared list has 50 and these would add 1."
        ]
    }
