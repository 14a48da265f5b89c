"""The campaigns' admin form: what a campaign needs, and that a dispatched one is frozen."""

import pytest
from django.urls import reverse

from notifications.models import (
    Campaign,
)
from tests.factories import make_audience, make_campaign, make_template

pytestmark = pytest.mark.django_db


pytestmark = pytest.mark.django_db


def test_a_campaign_needs_a_template_that_fits_its_channel(staff):
    template = make_template(title="", body="Text only")
    audience = make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {"name": "Push", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
    )
    assert "cannot go out here: Imshop pushes need a title." in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_campaign_records_who_created_it(staff):
    template, audience = make_template(), make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {"name": "Push", "channel": "imshop", "template": template.pk, "audiences": [audience.pk]},
    )
    assert response.status_code == 302
    assert Campaign.objects.get().created_by.username == "admin"


def test_sendios_ids_come_in_pairs(staff):
    template, audience = make_template(), make_audience()
    response = staff.post(
        reverse("admin:notifications_campaign_add"),
        {
            "name": "Push",
            "channel": "imshop",
            "template": template.pk,
            "audiences": [audience.pk],
            "sendios_project_id": "99",
        },
    )
    assert "Give both the Sendios project id and template id, or neither." in (
        response.content.decode()
    )


def test_a_dispatched_campaign_cannot_be_edited(staff):
    campaign = make_campaign(make_audience(), status=Campaign.Status.RUNNING, name="Frozen")
    other = make_template(name="Other")
    url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    staff.post(url, {"name": "Changed", "channel": "bitrix24", "template": other.pk})
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel) == ("Frozen", "imshop")
