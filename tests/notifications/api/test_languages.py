"""The API answers in the caller's language (Accept-Language): refusals and field messages
in Russian, English by default."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from rest_framework.test import APIClient

from notifications.api.keys import integration_key_create
from notifications.campaigns.lifecycle import campaign_pause
from notifications.models import Delivery
from notifications.reasons import reason_encode
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def _ask(client: APIClient, method: str, path: str, **kwargs):
    # LocaleMiddleware leaves the request's language active on the thread: give it back.
    with translation.override("en"):
        return getattr(client, method)(path, format="json", HTTP_ACCEPT_LANGUAGE="ru", **kwargs)


def test_a_staff_session_is_told_in_russian_every_permission_it_lacks():
    client = APIClient()
    client.force_login(get_user_model().objects.create_user("clerk", is_staff=True))

    answer = _ask(client, "post", "/api/recipients/bulk/", data={"recipients": []})

    assert answer.status_code == 403
    assert answer.json() == {
        "detail": "Вашей учётной записи это недоступно: не хватает права "
        "notifications.add_recipient и права notifications.change_recipient."
    }


def test_field_messages_of_a_recipient_come_in_russian():
    _, secret = integration_key_create(name="shop", read_only=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    answer = _ask(
        client,
        "post",
        "/api/recipients/",
        data={"external_id": "x", "attributes": {"city": ["Kazan"]}, "colour": "red"},
    )

    assert answer.status_code == 400
    assert answer.json() == {
        "attributes": ["Атрибут «city» должен быть текстом, числом, true/false или null."],
        "colour": ["Это поле здесь не принимается."],
    }


def test_a_read_only_key_is_refused_in_russian():
    _, secret = integration_key_create(name="reports", read_only=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    answer = _ask(client, "post", "/api/recipients/", data={"external_id": "x"})

    assert answer.status_code == 403
    refusal = "Этот API-ключ только для чтения: с ним можно смотреть списки и данные, "
    assert answer.json() == {"detail": refusal + "но ничего нельзя менять."}


def test_a_pause_reads_in_russian_and_its_code_stays_the_same(api):
    user = get_user_model().objects.create_user("anna", is_staff=True)
    campaign = make_campaign(make_audience(make_recipient()), status="running")
    campaign_pause(campaign_id=campaign.pk, user=user)

    russian = _ask(api, "get", f"/api/campaigns/{campaign.pk}/").json()
    english = api.get(f"/api/campaigns/{campaign.pk}/").json()

    assert (russian["pause_reason"], russian["pause_reason_code"]) == (
        "Поставлено на паузу: anna.",
        "paused_by",
    )
    assert (english["pause_reason"], english["pause_reason_code"]) == (
        "Paused by anna.",
        "paused_by",
    )


def test_a_skipped_deliverys_reason_reads_in_russian_with_its_code(api):
    recipient = make_recipient()
    campaign = make_campaign(make_audience(recipient), status="running")
    Delivery.objects.create(
        campaign=campaign, recipient=recipient, status="skipped", error=reason_encode("opted_out")
    )

    answer = _ask(api, "get", f"/api/deliveries/?campaign={campaign.pk}").json()

    [delivery] = answer["results"]
    assert (delivery["error"], delivery["error_code"]) == ("Получатель отписался.", "opted_out")


def test_a_pause_reason_stored_as_an_english_sentence_still_reads_without_a_code(api):
    campaign = make_campaign(status="paused", pause_reason="Paused by boss.", pause_cause="staff")

    answer = _ask(api, "get", f"/api/campaigns/{campaign.pk}/").json()

    assert (answer["pause_reason"], answer["pause_reason_code"]) == ("Paused by boss.", None)
