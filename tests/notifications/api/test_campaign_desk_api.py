"""The campaign desk through the API: content versions and the retry outlook, copies,
rescheduling and unscheduling. Test sends and the test lists are in test_test_sends_api.py."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.utils import timezone

from notifications.campaigns.direct import campaign_send_test
from notifications.campaigns.lifecycle import campaign_dispatch, campaign_pause
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, CampaignContent, Delivery
from notifications.sending.tasks import send_campaign
from tests.factories import make_audience, make_campaign, make_recipient, make_template
from tests.notifications.api.conftest import IMSHOP_URL, session_of, staff_with

pytestmark = pytest.mark.django_db

REPLAYED = "Idempotent-Replayed"


@pytest.fixture(autouse=True)
def fast_imshop(settings):
    settings.IMSHOP_RATE = "1000/s"
    settings.IMSHOP_BURST = 1000


def pushes_sent(campaign_id: int) -> list[str]:
    """What a worker does with the campaign's due deliveries; the pushes' bodies, sorted."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(IMSHOP_URL, json={"success": True})
        send_campaign(campaign_id)
        return sorted(json.loads(call.request.body)["message"]["summary"] for call in mock.calls)


def _completed_with_a_content_error() -> Campaign:
    """A campaign sent to two people; one has no city, and 'Sale in {{ city }}' failed for her."""
    kazan = make_recipient(external_id="c-1", attributes={"city": "Kazan"})
    nowhere = make_recipient(external_id="c-2")
    template = make_template(title="Hi", body="Sale in {{ city }}")
    campaign = make_campaign(make_audience(kazan, nowhere), template=template, name="Sale")
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    assert pushes_sent(campaign.pk) == ["Sale in Kazan"]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    return campaign


NEW_TEXT = {"title": "Hi", "body": "Sale in {{ city | default: 'your city' }}"}


# --- The campaign and its versions -----------------------------------------------------------


def test_a_campaign_shows_its_content_version_and_who_paused_it(api):
    campaign = campaign_dispatch(campaign_id=make_campaign(make_audience(make_recipient())).pk)
    campaign_pause(campaign_id=campaign.pk)
    answer = api.get(f"/api/campaigns/{campaign.pk}/").json()
    assert (answer["content_version"], answer["pause_cause"]) == (1, "staff")


def test_versions_are_listed_newest_first_with_the_deliveries_last_tried_with_each(api):
    campaign = _completed_with_a_content_error()
    edited = api.post(f"/api/campaigns/{campaign.pk}/content/", NEW_TEXT, format="json")
    assert edited.status_code == 201
    api.post(f"/api/campaigns/{campaign.pk}/retry-failed/")
    pushes_sent(campaign.pk)
    versions = api.get(f"/api/campaigns/{campaign.pk}/versions/").json()["results"]
    assert [(v["version"], v["deliveries"]) for v in versions] == [(2, 1), (1, 1)]
    assert versions[0]["content"]["body"] == NEW_TEXT["body"]
    assert versions[1]["template"] == campaign.template_id


# --- A new content version -------------------------------------------------------------------


def test_a_version_saved_through_the_api_is_the_one_the_next_retry_sends(api):
    campaign = _completed_with_a_content_error()
    response = api.post(f"/api/campaigns/{campaign.pk}/content/", NEW_TEXT, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 2
    assert response.json()["created_by"] is None
    assert api.post(f"/api/campaigns/{campaign.pk}/retry-failed/").json() == {"retried": 1}
    assert pushes_sent(campaign.pk) == ["Sale in your city"]
    retried = Delivery.objects.get(campaign=campaign, recipient__external_id="c-2")
    assert (retried.status, retried.content_version) == ("sent", 2)


def test_a_version_takes_a_templates_current_text_and_names_it(api):
    campaign = _completed_with_a_content_error()
    fixed = make_template(title="Hi", body="Sale near you")
    response = api.post(
        f"/api/campaigns/{campaign.pk}/content/", {"template": fixed.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["template"] == fixed.pk
    assert response.json()["content"]["body"] == "Sale near you"


def test_a_version_saved_by_staff_names_them():
    campaign = _completed_with_a_content_error()
    user = staff_with("view_campaign", "dispatch_campaign")
    response = session_of(user).post(
        f"/api/campaigns/{campaign.pk}/content/", NEW_TEXT, format="json"
    )
    assert response.json()["created_by"] == user.username


def test_a_version_the_channel_cannot_send_is_a_400_on_that_field(api):
    campaign = _completed_with_a_content_error()
    response = api.post(
        f"/api/campaigns/{campaign.pk}/content/", {"title": "", "body": "Sale"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"title": ["Imshop pushes need a title."]}
    assert campaign.versions.count() == 1


def test_a_version_with_both_a_template_and_fields_is_a_400_on_template(api):
    campaign = _completed_with_a_content_error()
    response = api.post(
        f"/api/campaigns/{campaign.pk}/content/",
        {"template": campaign.template_id, "body": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"template": ["Give a template or the message's fields, not both."]}


def test_the_same_content_again_is_a_400_saying_which_version_it_is(api):
    campaign = _completed_with_a_content_error()
    response = api.post(
        f"/api/campaigns/{campaign.pk}/content/",
        {"title": "Hi", "body": "Sale in {{ city }}"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["This is version 1 already: change the message first."]
    }


def test_a_running_campaigns_content_is_409(api):
    campaign = campaign_dispatch(
        campaign_id=make_campaign(make_audience(make_recipient()), name="Sale").pk
    )
    response = api.post(f"/api/campaigns/{campaign.pk}/content/", NEW_TEXT, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Cannot edit the message of 'Sale': it is running."}


def test_a_repeated_content_request_with_its_key_gets_the_first_answer(api):
    campaign = _completed_with_a_content_error()
    url, headers = f"/api/campaigns/{campaign.pk}/content/", {"HTTP_IDEMPOTENCY_KEY": "v2"}
    first = api.post(url, NEW_TEXT, format="json", **headers)
    again = api.post(url, NEW_TEXT, format="json", **headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again[REPLAYED] == "true"
    assert CampaignContent.objects.filter(campaign=campaign).count() == 2


def test_a_read_only_key_and_staff_who_may_not_dispatch_cannot_save_a_version(reader):
    campaign = _completed_with_a_content_error()
    url = f"/api/campaigns/{campaign.pk}/content/"
    assert reader.post(url, NEW_TEXT, format="json").status_code == 403
    editor = session_of(staff_with("view_campaign", "change_campaign", "add_campaign"))
    response = editor.post(url, NEW_TEXT, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your account may not do this: it lacks the permission "
        "notifications.dispatch_campaign."
    }
    assert campaign.versions.count() == 1


# --- The retry outlook -----------------------------------------------------------------------


def test_the_retry_outlook_says_the_failures_were_content_errors_of_the_current_version(reader):
    campaign = _completed_with_a_content_error()
    outlook = reader.get(f"/api/campaigns/{campaign.pk}/retry-outlook/").json()
    assert outlook["version"] == 1
    assert (outlook["failed"], outlook["content_errors"]) == (1, 1)
    assert "city" in outlook["example_error"]
    assert outlook["will_fail_again"] is True
    assert outlook["template_changed"] is False


def test_after_a_new_version_the_retry_outlook_expects_no_content_error(api):
    campaign = _completed_with_a_content_error()
    api.post(f"/api/campaigns/{campaign.pk}/content/", NEW_TEXT, format="json")
    outlook = api.get(f"/api/campaigns/{campaign.pk}/retry-outlook/").json()
    assert (outlook["version"], outlook["failed"], outlook["content_errors"]) == (2, 1, 0)
    assert outlook["will_fail_again"] is False


# --- Copies ----------------------------------------------------------------------------------


def test_a_copy_is_a_new_draft_with_the_same_template_and_audiences(api):
    audience = make_audience(make_recipient())
    campaign = make_campaign(audience, name="Sale")
    response = api.post(f"/api/campaigns/{campaign.pk}/copy/")
    assert response.status_code == 201, response.json()
    copy = response.json()["campaign"]
    assert (copy["name"], copy["status"], copy["audiences"]) == (
        "Copy of Sale",
        "draft",
        [audience.pk],
    )
    assert copy["template"] == campaign.template_id
    assert response.json()["new_template"] is None


def test_a_copy_of_an_edited_campaign_gets_a_template_holding_its_current_version(api):
    campaign = _completed_with_a_content_error()
    api.post(f"/api/campaigns/{campaign.pk}/content/", NEW_TEXT, format="json")
    answer = api.post(f"/api/campaigns/{campaign.pk}/copy/").json()
    assert answer["new_template"] is not None
    assert answer["campaign"]["template"] == answer["new_template"]


def test_a_repeated_copy_with_its_key_makes_one_copy(api):
    campaign = make_campaign(name="Sale")
    url, headers = f"/api/campaigns/{campaign.pk}/copy/", {"HTTP_IDEMPOTENCY_KEY": "copy-1"}
    first = api.post(url, format="json", **headers)
    again = api.post(url, format="json", **headers)
    assert again.json() == first.json()
    assert again[REPLAYED] == "true"
    assert Campaign.objects.filter(name__startswith="Copy of Sale").count() == 1


def test_a_copy_of_a_test_send_is_409(api):
    campaign = make_campaign(make_audience(make_recipient(external_id="me")))
    test = campaign_send_test(campaign_id=campaign.pk, external_ids=["me"])
    response = api.post(f"/api/campaigns/{test.pk}/copy/")
    assert response.status_code == 409


def test_a_copy_needs_the_add_permission_not_dispatch(reader):
    campaign = make_campaign(name="Sale")
    url = f"/api/campaigns/{campaign.pk}/copy/"
    assert reader.post(url).status_code == 403
    dispatcher = session_of(staff_with("view_campaign", "dispatch_campaign"))
    assert dispatcher.post(url).json() == {
        "detail": "Your account may not do this: it lacks the permission "
        "notifications.add_campaign."
    }
    adder = session_of(staff_with("view_campaign", "add_campaign"))
    assert adder.post(url).status_code == 201


# --- Rescheduling ----------------------------------------------------------------------------


def _scheduled() -> Campaign:
    campaign = make_campaign(make_audience(make_recipient()), name="Sale")
    return campaign_dispatch(
        campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(days=1)
    )


def test_a_scheduled_campaign_is_rescheduled(api):
    campaign = _scheduled()
    response = api.post(
        f"/api/campaigns/{campaign.pk}/reschedule/",
        {"scheduled_at": "2031-05-01T09:30:00+03:00"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2031, 5, 1, 6, 30, tzinfo=UTC)
    assert campaign.status == Campaign.Status.SCHEDULED


def test_a_time_without_an_offset_is_read_in_the_sites_time_zone(api, settings):
    settings.TIME_ZONE = "Asia/Yekaterinburg"  # UTC+5, no daylight saving
    campaign = _scheduled()
    api.post(
        f"/api/campaigns/{campaign.pk}/reschedule/",
        {"scheduled_at": "2031-05-01T09:30:00"},
        format="json",
    )
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime(2031, 5, 1, 4, 30, tzinfo=UTC)


def test_a_past_time_is_a_400_on_scheduled_at(api):
    campaign = _scheduled()
    response = api.post(
        f"/api/campaigns/{campaign.pk}/reschedule/",
        {"scheduled_at": "2020-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"scheduled_at": ["Choose a time in the future, or dispatch now."]}


def test_rescheduling_a_draft_is_409_and_a_missing_time_is_400(api):
    campaign = make_campaign(name="Sale")
    url = f"/api/campaigns/{campaign.pk}/reschedule/"
    assert api.post(url, {}, format="json").json() == {"scheduled_at": ["This field is required."]}
    response = api.post(url, {"scheduled_at": "2031-05-01T09:30:00Z"}, format="json")
    assert response.status_code == 409


def test_unscheduling_takes_the_campaign_back_to_a_draft(api):
    campaign = _scheduled()
    response = api.post(f"/api/campaigns/{campaign.pk}/unschedule/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["scheduled_at"]) == ("draft", None)
    assert api.post(f"/api/campaigns/{campaign.pk}/unschedule/").status_code == 409


def test_rescheduling_and_unscheduling_need_the_dispatch_permission(reader):
    campaign = _scheduled()
    editor = session_of(staff_with("view_campaign", "change_campaign"))
    for client in (reader, editor):
        assert client.post(f"/api/campaigns/{campaign.pk}/unschedule/").status_code == 403
        response = client.post(
            f"/api/campaigns/{campaign.pk}/reschedule/",
            {"scheduled_at": "2031-05-01T09:30:00Z"},
            format="json",
        )
        assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
