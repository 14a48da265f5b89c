"""A NUL character in a query parameter is a 400 with a sentence on every page, never a 500."""

import pytest
from django.urls import reverse

from config.middleware import NUL_IN_QUERY
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
