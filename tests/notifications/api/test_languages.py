"""The API answers in the caller's language (Accept-Language): refusals and field messages
in Russian, English by default."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from rest_framework.test import APIClient

from notifications.api.keys import integration_key_create

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
