"""Endpoints and their log through the API and the admin: the same services, the same rules."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from notifications.api.keys import integration_key_create
from notifications.reasons import reason_encode
from outbound.models import Endpoint, Message
from outbound.services import endpoint_create

pytestmark = [pytest.mark.django_db]

URL = "https://hooks.example.com/vestnik"


def key_client(read_only: bool = False) -> APIClient:
    _, secret = integration_key_create(name="crm", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def staff_client(*codenames: str) -> APIClient:
    user = get_user_model().objects.create_user(f"staff-{len(codenames)}", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="outbound", codename__in=codenames)
    )
    client = APIClient()
    client.force_login(user)
    return client


def message_for(endpoint: Endpoint, status: str = "delivered") -> Message:
    return Message.objects.create(
        endpoint=endpoint,
        stream=0,
        first_event_id=1,
        last_event_id=1,
        event_count=1,
        body='{"events": [{"id": 1, "type": "campaign.status"}]}',
        status=status,
        attempts=1,
        last_status_code=200 if status == "delivered" else 500,
    )


def test_an_integration_registers_an_endpoint_and_reads_its_secret_once():
    api = key_client()
    made = api.post(
        "/api/webhook-endpoints/",
        {"url": URL, "events": ["delivery.sent", "sms.click"], "description": "CRM"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["secret"].startswith("whsec_")
    assert made.json()["events"] == ["delivery.sent", "sms.click"]
    listed = api.get("/api/webhook-endpoints/").json()["results"]
    assert [e["url"] for e in listed] == [URL]
    assert "secret" not in listed[0]
    rolled = api.post(f"/api/webhook-endpoints/{made.json()['id']}/roll-secret/")
    assert rolled.status_code == 200
    assert rolled.json()["secret"] not in ("", made.json()["secret"])
    assert Endpoint.objects.get().secret == rolled.json()["secret"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "http://hooks.example.com/x", "events": ["delivery.sent"]}, "url", "https"),
        ({"url": "https://10.0.0.5/x", "events": ["delivery.sent"]}, "url", "private"),
        ({"url": "https://169.254.169.254/x", "events": ["sms.sent"]}, "url", "private"),
        ({"url": URL, "events": ["delivery.opened"]}, "events", "valid choice"),
        ({"url": "https://exa mple.com/x", "events": ["sms.sent"]}, "url", "valid URL"),
        ({"url": URL, "events": []}, "events", "empty"),
        ({"url": URL}, "events", "required"),
        ({"url": URL, "events": ["sms.sent"], "secret": "mine"}, "secret", "not accepted"),
    ],
)
def test_bad_endpoints_get_400_by_field(settings, body, field, words):
    settings.DEBUG = False
    answer = key_client().post("/api/webhook-endpoints/", body, format="json")
    assert answer.status_code == 400
    assert words in str(answer.json()[field])
    assert not Endpoint.objects.exists()


def test_turning_an_endpoint_off_and_on_again_says_why_and_clears_it():
    endpoint = endpoint_create(url=URL, events=["delivery.sent"])
    api = key_client()
    off = api.patch(f"/api/webhook-endpoints/{endpoint.pk}/", {"is_active": False}, format="json")
    assert off.json()["disabled_reason"] == "Turned off by staff."
    on = api.patch(f"/api/webhook-endpoints/{endpoint.pk}/", {"is_active": True}, format="json")
    assert (on.json()["is_active"], on.json()["disabled_reason"]) == (True, "")


def test_why_an_endpoint_went_off_reads_in_russian_with_its_code_unchanged():
    endpoint = endpoint_create(url=URL, events=["delivery.sent"])
    Endpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        disabled_reason=reason_encode(
            "endpoint_failing",
            span=reason_encode("span_hours", hours="25"),
            answer=reason_encode("no_answer", error="TimeoutError: timed out"),
        ),
    )
    with translation.override("en"):
        answer = key_client().get(
            f"/api/webhook-endpoints/{endpoint.pk}/", HTTP_ACCEPT_LANGUAGE="ru"
        )
    assert answer.json()["disabled_reason"] == (
        "Ни один запрос не прошёл за 25 ч; последний ответ: Нет ответа: TimeoutError: timed out"
    )
    assert answer.json()["disabled_reason_code"] == "endpoint_failing"


def test_the_message_log_filters_and_resend_sends_again():
    endpoint = endpoint_create(url=URL, events=["delivery.sent"])
    delivered, failed = message_for(endpoint), message_for(endpoint, "failed")
    api = key_client()
    rows = api.get("/api/webhook-messages/", {"endpoint": endpoint.pk, "status": "failed"})
    assert [m["id"] for m in rows.json()["results"]] == [failed.pk]
    assert rows.json()["results"][0]["body"]["events"][0]["type"] == "campaign.status"
    again = api.post(f"/api/webhook-messages/{delivered.pk}/resend/")
    assert again.status_code == 202
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    assert api.get("/api/webhook-messages/", {"status": "sideways"}).status_code == 400


def test_read_only_keys_and_staff_get_what_the_admin_gives_them():
    endpoint = endpoint_create(url=URL, events=["delivery.sent"])
    message = message_for(endpoint)
    reader = key_client(read_only=True)
    assert reader.get("/api/webhook-endpoints/").status_code == 200
    body = {"url": URL, "events": ["sms.sent"]}
    assert reader.post("/api/webhook-endpoints/", body, format="json").status_code == 403
    assert reader.post(f"/api/webhook-messages/{message.pk}/resend/").status_code == 403

    viewer = staff_client("view_endpoint", "view_message")
    assert viewer.get("/api/webhook-endpoints/").status_code == 200
    assert viewer.post("/api/webhook-endpoints/", body, format="json").status_code == 403
    assert viewer.post(f"/api/webhook-messages/{message.pk}/resend/").status_code == 403
    editor = staff_client("view_endpoint", "change_endpoint", "view_message")
    assert editor.post(f"/api/webhook-messages/{message.pk}/resend/").status_code == 202


def test_the_schema_names_the_webhook_routes(client):
    schema = key_client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/webhook-endpoints/", "/api/webhook-messages/{id}/resend/"} <= set(schema["paths"])


def test_staff_add_an_endpoint_in_the_admin_and_a_bad_url_is_a_form_error(admin_client, settings):
    settings.DEBUG = False
    add = reverse("admin:outbound_endpoint_add")
    page = admin_client.post(
        add, {"url": "http://hooks.example.com/x", "events": ["delivery.sent"], "is_active": "on"}
    )
    assert page.status_code == 200
    assert "Use an https:// URL" in page.content.decode()
    assert not Endpoint.objects.exists()
    done = admin_client.post(
        add, {"url": URL, "events": ["delivery.sent", "campaign.status"], "is_active": "on"}
    )
    assert done.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["delivery.sent", "campaign.status"]
    assert endpoint.secret.startswith("whsec_")
    change = admin_client.get(reverse("admin:outbound_endpoint_change", args=[endpoint.pk]))
    assert endpoint.secret in change.content.decode()


def test_the_endpoint_list_counts_open_exactly_their_rows(admin_client):
    endpoint = endpoint_create(url=URL, events=["delivery.sent"])
    for status in ["pending", "pending", "failed", "delivered"]:
        message_for(endpoint, status)
    page = admin_client.get(reverse("admin:outbound_endpoint_changelist")).content.decode()
    for status, count in [("pending", 2), ("failed", 1)]:
        link = f"?endpoint__id__exact={endpoint.pk}&amp;status__exact={status}"
        assert f'{link}">{count}</a>' in page
        rows = admin_client.get(
            reverse("admin:outbound_message_changelist"),
            {"endpoint__id__exact": endpoint.pk, "status__exact": status},
        )
        assert rows.context["cl"].result_count == count


def test_resend_in_the_admin_log(admin_client):
    endpoint = endpoint_create(url=URL, events=["delivery.sent"])
    message = message_for(endpoint, "failed")
    page = admin_client.post(
        reverse("admin:outbound_message_changelist"),
        {"action": "resend", "_selected_action": [message.pk]},
        follow=True,
    )
    assert "1 message will be sent again, before its campaign" in page.content.decode()
    message.refresh_from_db()
    assert message.status == "pending"
    detail = admin_client.get(reverse("admin:outbound_message_change", args=[message.pk]))
    assert "campaign.status" in detail.content.decode()
