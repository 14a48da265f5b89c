"""The whole journey through the API alone: recipients, audience, template, campaign, dispatch,
a worker sending to the provider (mocked at HTTP), then deliveries and stats read back."""

import json

import pytest
import responses

from notifications.campaigns.materialise import campaign_materialise
from notifications.sending.tasks import send_campaign
from tests.notifications.api.conftest import IMSHOP_URL

pytestmark = pytest.mark.django_db


def test_an_integration_sends_a_campaign_and_reads_what_happened(api, settings):
    settings.IMSHOP_RATE = "1000/s"
    settings.IMSHOP_BURST = 1000
    bulk = api.post(
        "/api/recipients/bulk/",
        {
            "recipients": [
                {"external_id": "c-1", "first_name": "Ann", "attributes": {"city": "Kazan"}},
                {"external_id": "c-2", "first_name": "Bob", "attributes": {"city": "Perm"}},
            ]
        },
        format="json",
    )
    assert [item["result"] for item in bulk.json()["results"]] == ["created", "created"]
    audience = api.post("/api/audiences/", {"name": "Spring"}, format="json").json()
    members = api.post(
        f"/api/audiences/{audience['id']}/members/", {"add": ["c-1", "c-2"]}, format="json"
    )
    assert members.json() == {"added": 2, "removed": 0}
    template = api.post(
        "/api/templates/",
        {"name": "Sale", "title": "Hi {{ first_name }}", "body": "Sale in {{ city }}"},
        format="json",
    ).json()
    campaign = api.post(
        "/api/campaigns/",
        {
            "name": "Spring sale",
            "channel": "imshop",
            "template": template["id"],
            "audiences": [audience["id"]],
        },
        format="json",
    )
    assert campaign.status_code == 201, campaign.json()
    campaign_id = campaign.json()["id"]
    assert api.post(f"/api/campaigns/{campaign_id}/dispatch/", {}, format="json").status_code == 200

    # What the worker does once the dispatch is committed.
    with responses.RequestsMock() as mock:
        mock.post(IMSHOP_URL, json={"success": True})
        campaign_materialise(campaign_id=campaign_id)
        send_campaign(campaign_id)
        pushes = sorted(json.loads(call.request.body)["message"]["summary"] for call in mock.calls)
    assert pushes == ["Sale in Kazan", "Sale in Perm"]

    deliveries = api.get(f"/api/deliveries/?campaign={campaign_id}").json()["results"]
    assert sorted(d["status"] for d in deliveries) == ["sent", "sent"]
    stats = api.get(f"/api/campaigns/{campaign_id}/stats/").json()
    assert stats["status"] == "completed"
    assert stats["deliveries"]["sent"] == 2
    sent = api.get(f"/api/deliveries/?campaign={campaign_id}&status=sent").json()["results"]
    assert len(sent) == 2
    assert all(d["sent_at"] for d in sent)
