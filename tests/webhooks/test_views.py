"""The SMS webhook endpoint: who may post, what is kept, what is stored and what is answered."""

import json
import random
from datetime import UTC, datetime

import pytest
from django.test import Client, override_settings

from notifications.models import DeliveryEvent
from notifications.reasons import reason_text
from tests.webhooks.conftest import (
    SECRET,
    TS,
    basic,
    fixture_bytes,
    post,
    sendios_body,
    sms_event,
)
from webhooks.models import InboundEvent, InboundWebhook

pytestmark = pytest.mark.django_db

AT = datetime.fromtimestamp(TS, tz=UTC)


def stored_events():
    return list(
        DeliveryEvent.objects.order_by("sms_id", "type").values_list("type", "sms_id", "link")
    )


@pytest.mark.parametrize(
    ("name", "link"), [("sms_sent", ""), ("sms_lost", ""), ("sms_click", "example.com")]
)
def test_each_vendor_sample_is_accepted_and_stored_as_one_event(sendios, name, link):
    response = sendios(fixture_bytes(f"{name}.json"))
    assert response.status_code == 200
    assert response.json() == {
        "inbound_id": InboundWebhook.objects.get().pk,
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "rejections": [],
    }
    event = DeliveryEvent.objects.get()
    assert (
        event.type,
        event.sms_id,
        event.link,
        event.occurred_at,
        event.sendios_user_id,
        event.sendios_project_id,
        event.sendios_template_id,
        event.data,
    ) == (name, 1233, link, AT, "test123", 99, 15, json.loads(fixture_bytes(f"{name}.json"))["0"])


@pytest.mark.parametrize("name", ["sms_sent", "sms_lost", "sms_click"])
def test_each_vendor_sample_as_printed_gets_400_and_its_exact_bytes_are_kept(sendios, name):
    printed = fixture_bytes(f"vendor_{name}_as_printed.txt")
    response = sendios(printed)
    inbound = InboundWebhook.objects.get()
    assert response.status_code == 400
    assert response.json() == {"detail": reason_text(inbound.error), "inbound_id": inbound.pk}
    assert reason_text(inbound.error).startswith("The body is not valid JSON: ")
    assert (bytes(inbound.body), inbound.body_size, inbound.status) == (
        printed,
        len(printed),
        InboundWebhook.Status.REJECTED,
    )
    assert DeliveryEvent.objects.count() == 0


def test_a_processed_body_records_its_counts_and_status_in_the_inbox(sendios):
    sendios(sendios_body(sms_event(sms_id=1), sms_event(sms_id=1), sms_event(sms_id="x")))
    inbound = InboundWebhook.objects.get()
    assert (inbound.status, inbound.accepted, inbound.duplicates, inbound.rejected) == (
        InboundWebhook.Status.PROCESSED,
        1,
        1,
        1,
    )
    assert inbound.processed_at is not None


def test_the_same_body_twice_is_stored_once_and_the_second_is_all_duplicates(sendios):
    body = sendios_body(sms_event(sms_id=1), sms_event(sms_id=2, event="sms_lost"))
    sendios(body)
    second = sendios(body).json()
    assert (second["accepted"], second["duplicates"], second["rejected"]) == (0, 2, 0)
    assert stored_events() == [("sms_sent", 1, ""), ("sms_lost", 2, "")]


def test_a_repeat_inside_one_body_is_counted_as_a_duplicate(sendios):
    answer = sendios(sendios_body(sms_event(), sms_event(sms_id="1233"))).json()
    assert (answer["accepted"], answer["duplicates"]) == (1, 1)
    assert DeliveryEvent.objects.count() == 1


def test_events_repeated_in_another_order_are_all_duplicates(sendios):
    events = [
        sms_event(event=name, sms_id=sms_id, link="l" if name == "sms_click" else None)
        for sms_id in range(1, 6)
        for name in ("sms_sent", "sms_lost", "sms_click")
    ]
    sendios(sendios_body(*events))
    random.Random(5).shuffle(events)
    answer = sendios(sendios_body(*events)).json()
    assert (answer["accepted"], answer["duplicates"]) == (0, 15)
    assert DeliveryEvent.objects.count() == 15


def test_good_events_are_kept_beside_bad_ones_and_the_bad_are_listed_by_key(sendios):
    response = sendios(
        sendios_body(sms_event(sms_id=1), sms_event(sms_id="abc"), 7, sms_event(sms_id=2))
    )
    assert response.status_code == 200
    assert response.json()["rejections"] == [
        {"key": "1", "reason": '"sms_id" must be a whole number, not "abc".'},
        {"key": "2", "reason": "The event is a number, not a JSON object."},
    ]
    assert stored_events() == [("sms_sent", 1, ""), ("sms_sent", 2, "")]


def test_the_inbox_records_what_became_of_every_event(sendios):
    sendios(sendios_body(sms_event(sms_id=1)))
    sendios(sendios_body(sms_event(sms_id=1), sms_event(sms_id=-4), {"event": "sent"}))
    first, second = InboundWebhook.objects.order_by("pk")
    stored_sms = DeliveryEvent.objects.get(type="sms_sent")
    stored_email = DeliveryEvent.objects.get(type="sent")
    assert [
        (*row[:4], reason_text(row[4]), row[5])
        for row in second.events.values_list(
            "position", "key", "type", "outcome", "reason", "delivery_event"
        )
    ] == [
        (0, "0", "sms_sent", "duplicate", "", stored_sms.pk),
        (1, "1", "sms_sent", "rejected", '"sms_id" -4 is out of range.', None),
        (2, "2", "sent", "accepted", "", stored_email.pk),
    ]
    assert list(first.events.values_list("outcome", "delivery_event")) == [
        ("accepted", stored_sms.pk)
    ]


def test_a_null_client_user_id_is_accepted(sendios):
    answer = sendios(sendios_body(sms_event(client_user_id=None))).json()
    assert answer["accepted"] == 1
    assert DeliveryEvent.objects.get().sendios_user_id == ""


def test_numeric_strings_are_stored_as_numbers(sendios):
    sendios(sendios_body(sms_event(sms_id="77", ts=str(TS), project_id="99", template_id="15.0")))
    event = DeliveryEvent.objects.get()
    assert (
        event.sms_id,
        event.occurred_at,
        event.sendios_project_id,
        event.sendios_template_id,
    ) == (
        77,
        AT,
        99,
        15,
    )


def test_unknown_event_types_are_stored_under_their_own_name(sendios):
    email = {"event": "created", "email": "a@example.com", "ts": TS, "project_id": 99}
    answer = sendios(sendios_body(email, {"event": "reject", "reason": "bounce"})).json()
    assert answer["accepted"] == 2
    assert list(DeliveryEvent.objects.order_by("type").values_list("type", "data", "sms_id")) == [
        ("created", email, None),
        ("reject", {"event": "reject", "reason": "bounce"}, None),
    ]


def test_the_path_without_a_trailing_slash_is_the_same_endpoint(client):
    response = client.post(
        "/webhooks/sms",
        data=fixture_bytes("sms_sent.json"),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(SECRET),
    )
    assert response.status_code == 200


def test_any_content_type_is_read_as_json(client):
    response = client.post(
        "/webhooks/sms/?token=" + SECRET,
        data=fixture_bytes("sms_sent.json"),
        content_type="text/plain",
    )
    assert response.status_code == 200


class TestSize:
    @override_settings(SMS_WEBHOOK_MAX_BODY_BYTES=100)
    def test_a_body_over_the_limit_gets_413_and_a_row_saying_how_big_it_was(self, sendios):
        response = sendios(b"[" + b" " * 200 + b"]")
        inbound = InboundWebhook.objects.get()
        assert response.status_code == 413
        assert response.json() == {
            "detail": "The body of 202 bytes is larger than the limit of 100 bytes.",
            "inbound_id": inbound.pk,
        }
        assert (
            bytes(inbound.body),
            inbound.body_size,
            inbound.status,
            reason_text(inbound.error),
        ) == (
            b"",
            202,
            InboundWebhook.Status.REJECTED,
            "The body of 202 bytes is larger than the limit of 100 bytes.",
        )

    @override_settings(SMS_WEBHOOK_MAX_BODY_BYTES=100)
    def test_a_body_at_the_limit_is_accepted(self, sendios):
        body = json.dumps({"event": "x"}).encode()
        body += b" " * (100 - len(body))
        assert sendios(body).status_code == 200

    def test_a_body_over_a_mebibyte_is_refused_by_default(self, sendios):
        huge = sendios_body(*[sms_event(sms_id=n) for n in range(6000)])
        assert len(huge) > 1024 * 1024
        assert sendios(huge).status_code == 413
        assert DeliveryEvent.objects.count() == 0


class TestAuthentication:
    def test_missing_credentials_get_401_with_a_basic_challenge_and_nothing_is_kept(self, client):
        response = post(client, fixture_bytes("sms_sent.json"), password=None)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="vestnik-webhooks"'
        assert InboundWebhook.objects.count() == 0
        assert DeliveryEvent.objects.count() == 0

    def test_a_wrong_password_gets_401_with_a_basic_challenge_and_nothing_is_kept(self, client):
        response = post(client, fixture_bytes("sms_sent.json"), password="guess")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="vestnik-webhooks"'
        assert response.json() == {"detail": "Invalid webhook credentials."}
        assert InboundWebhook.objects.count() == 0

    @pytest.mark.parametrize(
        "header", ["Basic !!!", "Basic", f"Basic {SECRET}", "Bearer " + SECRET]
    )
    def test_a_malformed_or_foreign_authorization_header_gets_401(self, client, header):
        response = post(client, b"{}", password=None, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert InboundWebhook.objects.count() == 0

    def test_any_user_name_goes_with_the_secret(self, client):
        response = post(
            client, fixture_bytes("sms_sent.json"), HTTP_AUTHORIZATION=basic(SECRET, user="")
        )
        assert response.status_code == 200

    def test_the_token_query_parameter_authenticates(self, client):
        response = post(
            client, fixture_bytes("sms_sent.json"), password=None, query="token=" + SECRET
        )
        assert response.status_code == 200

    def test_a_wrong_token_gets_401(self, client):
        response = post(client, fixture_bytes("sms_sent.json"), password=None, query="token=guess")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="vestnik-webhooks"'

    @override_settings(SMS_WEBHOOK_SECRETS=["old-secret-1111", "new-secret-2222"])
    @pytest.mark.parametrize("secret", ["old-secret-1111", "new-secret-2222"])
    def test_every_configured_secret_works_so_one_can_be_rotated(self, client, secret):
        assert post(client, fixture_bytes("sms_sent.json"), password=secret).status_code == 200
        assert post(client, b"{}", password=None, query="token=" + secret).status_code == 400

    @override_settings(SMS_WEBHOOK_SECRETS=[])
    @pytest.mark.parametrize("password", ["", "test-webhook-secret", "anything"])
    def test_without_a_configured_secret_every_request_is_refused(self, client, password):
        response = post(client, fixture_bytes("sms_sent.json"), password=password)
        assert response.status_code == 401
        assert InboundWebhook.objects.count() == 0

    @override_settings(SMS_WEBHOOK_SECRETS=["", "  "])
    def test_a_blank_secret_never_matches_an_empty_password(self, client):
        assert post(client, fixture_bytes("sms_sent.json"), password="").status_code == 401
        assert post(client, b"{}", password=None, query="token=").status_code == 401

    def test_an_authenticated_get_is_not_allowed(self, client):
        response = client.get("/webhooks/sms/", HTTP_AUTHORIZATION=basic(SECRET))
        assert response.status_code == 405


class TestWhatIsKept:
    def test_the_secret_appears_nowhere_in_the_inbox_or_the_answer(self, client):
        response = post(
            client,
            fixture_bytes("sms_sent.json"),
            query=f"source=sendios&token={SECRET}",
            HTTP_COOKIE="sessionid=abc",
        )
        inbound = InboundWebhook.objects.get()
        kept = json.dumps(
            [inbound.headers, inbound.query_string, inbound.error, inbound.content_type]
        )
        assert SECRET not in kept
        assert basic(SECRET) not in kept
        assert SECRET not in response.content.decode()
        assert list(inbound.headers) == ["Content-Type", "Content-Length"]
        assert inbound.query_string == "source=sendios"

    def test_headers_of_interest_and_the_source_address_are_kept(self, client):
        post(
            client,
            fixture_bytes("sms_sent.json"),
            HTTP_USER_AGENT="Sendios/1.0",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
            HTTP_X_CUSTOM="not kept",
            REMOTE_ADDR="10.0.0.7",
        )
        inbound = InboundWebhook.objects.get()
        assert inbound.headers == {
            "Content-Type": "application/json",
            "Content-Length": str(len(fixture_bytes("sms_sent.json"))),
            "User-Agent": "Sendios/1.0",
            "X-Forwarded-For": "203.0.113.9",
        }
        assert (inbound.remote_addr, inbound.content_type) == ("10.0.0.7", "application/json")

    def test_a_failure_of_ours_is_a_500_and_the_body_is_kept_as_failed(self, monkeypatch):
        def broken(**kwargs):
            raise RuntimeError("lookup failed")

        monkeypatch.setattr("webhooks.services.sms_links_find", broken)
        response = post(Client(raise_request_exception=False), fixture_bytes("sms_sent.json"))
        inbound = InboundWebhook.objects.get()
        assert response.status_code == 500
        assert (bytes(inbound.body), inbound.status, reason_text(inbound.error)) == (
            fixture_bytes("sms_sent.json"),
            InboundWebhook.Status.FAILED,
            "Processing failed: RuntimeError: lookup failed",
        )
        assert InboundEvent.objects.count() == 0
        assert DeliveryEvent.objects.count() == 0
