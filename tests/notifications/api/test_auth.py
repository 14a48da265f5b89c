"""Who may call the API: keys, revoked keys, read-only keys, staff sessions, throttling."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from notifications.api.keys import integration_key_create
from notifications.api.throttling import ApiKeyRateThrottle
from notifications.models import IntegrationKey
from tests.notifications.api.conftest import client_with, session_of, staff_with

pytestmark = pytest.mark.django_db


def test_a_request_without_a_key_is_401_and_names_the_scheme():
    response = APIClient().get("/api/recipients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_a_wrong_key_is_401():
    response = client_with("nope.nope").get("/api/recipients/")
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key is not valid or has been revoked."}


def test_a_revoked_key_is_401():
    key, secret = integration_key_create(name="old")
    key.revoked = True
    key.save()
    response = client_with(secret).get("/api/recipients/")
    assert response.status_code == 401


def test_a_valid_key_reads_and_its_last_use_is_recorded():
    key, secret = integration_key_create(name="shop")
    response = client_with(secret).get("/api/recipients/")
    key.refresh_from_db()
    assert response.status_code == 200
    assert key.last_used_at is not None


def test_a_read_only_key_reads(reader):
    assert reader.get("/api/campaigns/").status_code == 200


def test_a_read_only_key_cannot_write(reader):
    response = reader.post("/api/recipients/", {"external_id": "c-1"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This API key is read-only: it may list and read, not change anything."
    }


def test_a_staff_session_with_the_admin_permission_may_use_the_api():
    client = session_of(staff_with("add_recipient"))
    assert client.post("/api/recipients/", {"external_id": "c-1"}, format="json").status_code == 201


def test_a_session_of_a_user_who_is_not_staff_is_refused(django_user_model):
    user = django_user_model.objects.create_user("someone", password="pw")
    client = APIClient()
    client.force_login(user)
    response = client.get("/api/recipients/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff users may use the API with a session."}


def test_a_key_over_its_rate_gets_429_with_retry_after(monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/m"})
    _, secret = integration_key_create(name="busy")
    _, other = integration_key_create(name="calm")
    client = client_with(secret)
    assert [client.get("/api/templates/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/templates/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    # The budget is per key: another key is unaffected.
    assert client_with(other).get("/api/templates/").status_code == 200


def test_create_api_key_prints_a_working_key_as_its_last_line(capsys):
    call_command("create_api_key", "crm", "--read-only")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    key = IntegrationKey.objects.get_from_key(secret)
    assert (key.name, key.read_only) == ("crm", True)
    assert client_with(secret).get("/api/recipients/").status_code == 200
