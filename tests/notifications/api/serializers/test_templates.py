"""The template serializer refuses what the domain's template check refuses, by field."""

import pytest

from notifications.content.checks import message_template_errors
from tests.factories import make_campaign, make_template

pytestmark = pytest.mark.django_db


def test_a_change_that_would_break_a_draft_campaign_is_400_in_the_domains_words(api):
    template = make_template(title="Hi", body="Text")
    make_campaign(template=template, channel="imshop")
    response = api.patch(f"/api/templates/{template.pk}/", {"title": ""}, format="json")
    assert response.status_code == 400
    fields = {"title": "", "body": "Text", "deeplink": "", "file_uuid": "", "avatar_url": ""}
    assert response.json() == message_template_errors(fields, template=template)
    assert response.json() == {
        "title": ["Imshop pushes need a title. (a draft campaign on this channel uses it)"]
    }
