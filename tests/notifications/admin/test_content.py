"""A dispatched campaign's message page: its versions, and saving the next one."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from notifications.campaigns.lifecycle import campaign_dispatch, campaign_pause
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Campaign, CampaignContent
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


@pytest.fixture
def campaign():
    people = [
        make_recipient(
            external_id=f"p-{i}",
            first_name=name,
            attributes={"city": "Kazan"} if i else {},
            addresses={"leadconverter": str(i + 1)},
        )
        for i, name in enumerate(["Anna", "Boris", "Vera"])
    ]
    template = make_template(name="Welcome", title="", body="Hi {{ first_name }}")
    campaign = make_campaign(
        make_audience(*people), name="Welcome", channel="leadconverter", template=template
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign_pause(campaign_id=campaign.pk)
    return campaign


def url(campaign):
    return reverse("admin:notifications_campaign_content", args=[campaign.pk])


def test_the_page_lists_the_versions_and_previews_the_next_for_real_people(admin_client, campaign):
    page = admin_client.get(url(campaign)).content.decode()
    assert "Version 2" in page
    assert "Hi {{ first_name }}" in page  # the current text, to edit
    assert 'id="version-1"' in page
    preview = admin_client.post(
        url(campaign), {"body": "Hi {{ first_name }} from {{ city }}", "_preview": "1"}
    ).content.decode()
    assert "Hi Boris from Kazan" in preview
    assert "1 of the 3 people this version would go to cannot get it" in preview
    campaign.refresh_from_db()
    assert campaign.content_version == 1  # a preview saves nothing


def test_saving_makes_the_next_version_what_goes_out(admin_client, campaign):
    response = admin_client.post(url(campaign), {"body": "Hello {{ first_name }}", "_save": "1"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.content_version, campaign.content["body"]) == (2, "Hello {{ first_name }}")
    version = CampaignContent.objects.get(campaign=campaign, version=2)
    assert version.created_by.username == "admin"
    change = admin_client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk]))
    assert "Message: version 2 goes out now." in change.content.decode()


def test_a_bad_version_is_a_form_error_and_nothing_changes(admin_client, campaign):
    page = admin_client.post(url(campaign), {"body": "Hi {{ first_name", "_save": "1"})
    assert page.status_code == 200
    assert "Template error" in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.content_version == 1


def test_the_templates_new_text_can_be_taken(admin_client, campaign):
    campaign.template.body = "Fixed {{ first_name }}"
    campaign.template.save()
    page = admin_client.get(url(campaign)).content.decode()
    assert "has changed since version 1" in page
    taken = admin_client.post(url(campaign), {"_from_template": "1"}).content.decode()
    assert "Fixed {{ first_name }}</textarea>" in taken
    admin_client.post(url(campaign), {"body": "Fixed {{ first_name }}", "_save": "1"})
    assert CampaignContent.objects.get(campaign=campaign, version=2).template == campaign.template


def test_a_running_campaigns_message_is_shown_not_edited(admin_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    page = admin_client.get(url(campaign)).content.decode()
    assert "Cannot edit the message of &#x27;Welcome&#x27;: it is running." in page
    assert 'id="content-form"' not in page
    assert admin_client.post(url(campaign), {"body": "X", "_save": "1"}).status_code == 403


def test_staff_who_may_not_send_see_the_versions_only(client, django_user_model, campaign):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(user)
    page = client.get(url(campaign)).content.decode()
    assert 'id="version-1"' in page
    assert 'id="content-form"' not in page
    assert client.post(url(campaign), {"body": "X", "_save": "1"}).status_code == 403


def test_each_versions_count_equals_the_deliveries_its_link_opens(admin_client, campaign):
    from notifications.models import Delivery

    rows = list(Delivery.objects.filter(campaign=campaign).order_by("pk"))
    # One tried before versions existed (no version: the first), one with 1, one with 2.
    Delivery.objects.filter(pk=rows[0].pk).update(status="sent", content_version=None)
    Delivery.objects.filter(pk=rows[1].pk).update(status="failed", content_version=1)
    admin_client.post(url(campaign), {"body": "Hello {{ first_name }}", "_save": "1"})
    Delivery.objects.filter(pk=rows[2].pk).update(status="sent", content_version=2)
    page = admin_client.get(url(campaign))
    for version in page.context["versions"]:
        opened = admin_client.get(version["tried_url"])
        assert opened.context["cl"].result_count == version["tried"], version["version"]
    assert [v["tried"] for v in page.context["versions"]] == [1, 2]
