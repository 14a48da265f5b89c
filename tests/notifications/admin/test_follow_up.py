"""Follow-up audiences from a campaign: counted before staff confirm, made in one click."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from notifications.admin.follow_up import follow_up_url
from notifications.models import Audience, Delivery
from tests.factories import make_audience, make_campaign, make_recipient
from tests.notifications.admin.test_base import messages_of

pytestmark = pytest.mark.django_db


def campaign_with_failures(failed: int = 2, sent: int = 1):
    people = [make_recipient() for _ in range(failed + sent)]
    campaign = make_campaign(make_audience(*people), name="Spring")
    Delivery.objects.bulk_create(
        Delivery(
            campaign=campaign,
            recipient=person,
            status=Delivery.Status.FAILED if index < failed else Delivery.Status.SENT,
        )
        for index, person in enumerate(people)
    )
    return campaign, people[:failed]


def test_the_page_counts_the_recipients_and_offers_a_name(staff):
    campaign, _ = campaign_with_failures(failed=2)
    page = staff.get(follow_up_url(campaign.pk, "failed"))
    assert "New audience from campaign Spring: Failed: 2 recipients" in page.content.decode()
    assert page.context["form"]["name"].value() == "Spring: failed"


def test_confirming_makes_the_audience_and_opens_it(staff):
    campaign, failed = campaign_with_failures(failed=2)
    done = staff.post(follow_up_url(campaign.pk, "failed"), {"name": "Spring: failed"})
    audience = Audience.objects.get(name="Spring: failed")
    assert done.url == reverse("admin:notifications_audience_change", args=[audience.pk])
    assert set(audience.members.all()) == set(failed)


def test_confirming_says_how_many_the_audience_holds(staff):
    campaign, _ = campaign_with_failures(failed=2)
    done = staff.post(follow_up_url(campaign.pk, "failed"), {"name": "Retry"}, follow=True)
    assert "Audience 'Retry' made with 2 recipients." in messages_of(done)


def test_a_name_another_audience_has_is_an_error_beside_the_name(staff):
    campaign, _ = campaign_with_failures()
    make_audience(name="Taken")
    page = staff.post(follow_up_url(campaign.pk, "failed"), {"name": "Taken"})
    assert page.context["form"].errors == {"name": ["An audience named 'Taken' exists."]}
    assert Audience.objects.filter(name="Taken").count() == 1


def test_an_unknown_outcome_is_not_found(staff):
    campaign, _ = campaign_with_failures()
    assert staff.get(follow_up_url(campaign.pk, "bounced")).status_code == 404


def test_an_unknown_campaign_is_not_found(staff):
    assert staff.get(follow_up_url(999_999, "failed")).status_code == 404


def test_the_page_needs_permission_to_add_audiences(client, django_user_model):
    campaign, _ = campaign_with_failures()
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    for codename in ("view_campaign", "change_audience"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    assert client.get(follow_up_url(campaign.pk, "failed")).status_code == 403


def test_staff_who_see_campaigns_and_change_audiences_may_make_one(client, django_user_model):
    campaign, _ = campaign_with_failures()
    user = django_user_model.objects.create_user("marketer", password="pw", is_staff=True)
    for codename in ("view_campaign", "add_audience", "change_audience"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    assert client.get(follow_up_url(campaign.pk, "failed")).status_code == 200
