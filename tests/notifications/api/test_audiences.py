"""/api/audiences/: named sets of recipients, and members by external_id."""

import pytest

from notifications.models import Audience, AudienceMember, Campaign
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
