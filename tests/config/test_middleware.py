"""A NUL character in a query parameter is a 400 with a sentence on every page, never a 500; each
request is served in the signed-in person's time zone."""

import pytest
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from config.middleware import NUL_IN_QUERY, StaffTimeZone
from notifications.models import StaffProfile
from tests.factories import make_recipient, make_template

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    ["external_id=a%00b", "q=a%00b", "a%00b=1", "opted_out=x&external_id=%00"],
)
def test_the_recipient_list_refuses_a_nul_in_its_query(admin_client, query):
    answer = admin_client.get(f"/admin/notifications/recipient/?{query}")
    assert answer.status_code == 400
    assert answer.json() == {"detail": NUL_IN_QUERY}


def test_the_template_preview_refuses_a_nul_in_the_recipient(admin_client):
    template = make_template()
    make_recipient(external_id="c-1")
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    assert admin_client.get(f"{url}?recipient=a%00b").status_code == 400
    assert admin_client.get(f"{url}?recipient=c-1").status_code == 200


def test_the_api_refuses_a_nul_in_a_filter(admin_client):
    answer = admin_client.get("/api/recipients/?external_id=a%00b")
    assert answer.status_code == 400
    assert admin_client.get("/api/recipients/?external_id=ab").status_code == 200


def test_a_signed_in_person_is_served_in_their_own_time_zone(client, django_user_model, settings):
    settings.TIME_ZONE = "UTC"
    user = django_user_model.objects.create_superuser("anna", password="pw")
    StaffProfile.objects.create(user=user, time_zone="Asia/Vladivostok")
    client.force_login(user)
    page = client.get(reverse("admin:index"))
    assert "Times in Asia/Vladivostok" in page.content.decode()
    # The next request on this thread, by somebody else, is not served in Anna's zone.
    assert timezone.get_current_timezone_name() == "UTC"


def test_a_person_without_a_zone_is_served_in_the_sites(client, django_user_model, settings):
    settings.TIME_ZONE = "Europe/Samara"
    client.force_login(django_user_model.objects.create_superuser("boris", password="pw"))
    assert "Times in Europe/Samara" in client.get(reverse("admin:index")).content.decode()


def test_what_a_view_sees_is_the_persons_zone(rf, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw")
    StaffProfile.objects.create(user=user, time_zone="Asia/Kamchatka")
    request = rf.get("/")
    request.user = user
    seen = []
    StaffTimeZone(lambda r: seen.append(timezone.get_current_timezone_name()) or HttpResponse())(
        request
    )
    assert seen == ["Asia/Kamchatka"]
