"""/api/templates/ and /api/campaigns/: validation, preview, exclusions, transitions (409) and
stats."""

import pytest

from notifications.campaigns.lifecycle import campaign_dispatch
from notifications.models import Campaign
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db


def test_a_template_with_an_unknown_variable_is_refused_on_that_field(api):
    response = api.post(
        "/api/templates/", {"name": "t", "title": "Hi", "body": "{{ nope }}"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "body": [
            "No recipient has this variable: nope. Import a column of that name or fix the "
            "spelling."
        ]
    }


def test_a_template_is_previewed_for_a_recipient_on_every_channel(api):
    make_recipient(external_id="c-1", first_name="Anna")
    template = make_template(title="Hello", body="Hi {{ first_name }}")
    response = api.post(
        f"/api/templates/{template.pk}/preview/", {"recipient": "c-1"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["imshop"] == {
        "content": {"title": "Hello", "body": "Hi Anna", "deeplink": ""},
        "errors": {},
    }
    assert response.json()["bitrix24"]["content"] == {"body": "Hi Anna", "avatar_url": ""}


def test_a_preview_for_an_unknown_recipient_says_so(api):
    template = make_template()
    response = api.post(f"/api/templates/{template.pk}/preview/", {"recipient": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"recipient": ["No recipient has external_id x."]}


def test_a_template_used_by_a_campaign_cannot_be_deleted(api):
    campaign = make_campaign()
    response = api.delete(f"/api/templates/{campaign.template_id}/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Cannot delete template '{campaign.template.name}': campaigns use it."
    }


def test_a_draft_campaign_is_created_and_edited(api):
    template = make_template()
    audience = make_audience(make_recipient())
    response = api.post(
        "/api/campaigns/",
        {"name": "Sale", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
        format="json",
    )
    assert response.status_code == 201
    campaign_id = response.json()["id"]
    assert response.json()["status"] == "draft"
    response = api.patch(f"/api/campaigns/{campaign_id}/", {"name": "Big sale"}, format="json")
    assert response.json()["name"] == "Big sale"


def test_a_campaign_whose_template_cannot_go_out_on_its_channel_is_refused(api):
    template = make_template(title="", body="Hi")
    response = api.post(
        "/api/campaigns/",
        {"name": "Sale", "channel": "imshop", "template": template.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "template": [f"'{template.name}' cannot go out here: Imshop pushes need a title."]
    }


def test_editing_a_dispatched_campaign_is_409_with_a_sentence(api):
    campaign = make_campaign(make_audience(make_recipient()), name="Sale")
    campaign_dispatch(campaign_id=campaign.pk)
    response = api.patch(f"/api/campaigns/{campaign.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Cannot change 'Sale': it is running."}


def test_dispatch_pause_resume_and_cancel_move_the_campaign(api):
    campaign = make_campaign(make_audience(make_recipient()))
    url = f"/api/campaigns/{campaign.pk}"
    assert api.post(f"{url}/dispatch/", {}, format="json").json()["status"] == "running"
    assert api.post(f"{url}/pause/").json()["status"] == "paused"
    assert api.post(f"{url}/resume/").json()["status"] == "running"
    assert api.post(f"{url}/cancel/").json()["status"] == "cancelled"


def test_a_refused_transition_is_409(api):
    campaign = make_campaign(make_audience(make_recipient()), name="Sale")
    response = api.post(f"/api/campaigns/{campaign.pk}/pause/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Cannot pause 'Sale': it is draft."}


def test_dispatching_an_empty_audience_is_409_and_the_campaign_stays_a_draft(api):
    campaign = make_campaign(make_audience())
    response = api.post(f"/api/campaigns/{campaign.pk}/dispatch/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The audience is empty: add recipients or choose another audience."
    }
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_retry_failed_on_a_draft_is_409_and_with_a_body_is_400(api):
    campaign = make_campaign(name="Sale")
    url = f"/api/campaigns/{campaign.pk}/retry-failed/"
    assert api.post(url, {"all": True}, format="json").json() == {
        "all": ["This field is not accepted here."]
    }
    assert api.post(url).status_code == 409


def test_stats_count_deliveries_by_status(api):
    campaign = make_campaign()
    response = api.get(f"/api/campaigns/{campaign.pk}/stats/")
    assert response.status_code == 200
    assert response.json()["progress"] == 0.0
    assert response.json()["deliveries"]["total"] == 0
    assert response.json()["sms"] == {
        "sent": 0,
        "lost": 0,
        "delivered": 0,
        "clicked": 0,
        "click_through_rate": None,
    }


def test_stats_say_how_long_the_rest_takes_within_the_providers_limits(api):
    audience = make_audience(
        *[make_recipient(external_id=f"e-{i}", first_name=f"Name{i}") for i in range(3)]
    )
    template = make_template(title="Hi {{ first_name | default: 'you' }}", body="Sale")
    campaign = make_campaign(audience, channel="imshop", template=template)
    stats = api.get(f"/api/campaigns/{campaign.pk}/stats/").json()
    # A draft: three personalised pushes, one request each, 10 a minute, the first at once.
    assert stats["eta_seconds"] == 12.0


def test_a_campaign_is_created_with_excluded_audiences_and_they_are_replaced_on_edit(api):
    audience, blocked, former = (make_audience(make_recipient()) for _ in range(3))
    response = api.post(
        "/api/campaigns/",
        {
            "name": "Sale",
            "channel": "imshop",
            "template": make_template().pk,
            "audiences": [audience.pk],
            "excluded_audiences": [former.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    campaign_id = response.json()["id"]
    response = api.patch(
        f"/api/campaigns/{campaign_id}/", {"excluded_audiences": [blocked.pk]}, format="json"
    )
    assert response.json()["excluded_audiences"] == [blocked.pk]
    excluded = Campaign.objects.get(pk=campaign_id).excluded_audiences.all()
    assert list(excluded) == [blocked]


def test_an_unknown_excluded_audience_is_a_400_on_that_field(api):
    campaign = make_campaign(make_audience(make_recipient()))
    response = api.patch(
        f"/api/campaigns/{campaign.pk}/", {"excluded_audiences": [999_999]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["excluded_audiences"]
    assert not campaign.excluded_audiences.exists()
