"""The campaign serializer refuses what the domain's campaign check refuses, by field."""

import pytest

from notifications.campaigns.services import campaign_errors
from tests.factories import make_campaign, make_template

pytestmark = pytest.mark.django_db


def test_one_sendios_id_without_the_other_is_400_in_the_domains_words(api):
    response = api.post(
        "/api/campaigns/",
        {
            "name": "Sale",
            "channel": "imshop",
            "template": make_template().pk,
            "sendios_template_id": 9,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == campaign_errors(
        channel="imshop", template=None, sendios_project_id=None, sendios_template_id=9
    )


def test_a_change_is_checked_with_the_campaigns_stored_fields(api):
    campaign = make_campaign(sendios_project_id=3, sendios_template_id=9)
    response = api.patch(
        f"/api/campaigns/{campaign.pk}/", {"sendios_template_id": None}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["sendios_template_id"]
