"""/api/messages/: transactional sends, their validation, and Idempotency-Key replays."""

import pytest
import responses

from notifications.models import Campaign, Delivery
from notifications.providers.registry import build_provider
from notifications.sending.loop import campaign_send
from tests.factories import make_recipient, make_template
from tests.notifications.api.conftest import IMSHOP_URL
from tests.support.long_texts import AT_AND_OVER

pytestmark = pytest.mark.django_db

BODY = {"channel": "imshop", "recipients": ["c-1", "c-2"], "content": {"title": "T", "body": "B"}}


@pytest.fixture
def people():
    return [make_recipient(external_id="c-1"), make_recipient(external_id="c-2")]


def test_a_message_creates_a_running_transactional_campaign_with_its_deliveries(api, people):
    response = api.post("/api/messages/", BODY, format="json")
    assert response.status_code == 202
    campaign = Campaign.objects.get(pk=response.json()["campaign"])
    assert (campaign.kind, campaign.status) == ("transactional", "running")
    assert campaign.content["title"] == "T"
    assert [(d["recipient"], d["status"]) for d in response.json()["deliveries"]] == [
        ("c-1", "pending"),
        ("c-2", "pending"),
    ]


def test_a_message_is_sent_to_the_provider_by_the_send_loop(api, people, settings):
    settings.IMSHOP_RATE = "1000/s"
    settings.IMSHOP_BURST = 1000
    template = make_template(title="Hi", body="Hello")
    campaign_id = api.post(
        "/api/messages/",
        {"channel": "imshop", "recipients": ["c-1"], "template": template.pk},
        format="json",
    ).json()["campaign"]
    with responses.RequestsMock() as mock:
        mock.post(IMSHOP_URL, json={"success": True})
        campaign_send(campaign_id=campaign_id, provider=build_provider("imshop"), budget_seconds=5)
        assert len(mock.calls) == 1
    assert Delivery.objects.get(campaign_id=campaign_id).status == "sent"


def test_unknown_recipients_and_missing_content_fields_are_400(api, people):
    response = api.post(
        "/api/messages/",
        {"channel": "imshop", "recipients": ["c-1", "ghost"], "content": {"body": "B"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"content": ["title: Imshop pushes need a title."]}
    response = api.post("/api/messages/", {**BODY, "recipients": ["ghost"]}, format="json")
    assert response.json() == {"recipients": ["No recipient has external_id ghost."]}


def test_template_and_content_together_are_refused(api, people):
    response = api.post("/api/messages/", {**BODY, "template": make_template().pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Give either a template or a content, not both."]
    }


def test_a_repeated_idempotency_key_replays_the_first_answer_and_sends_nothing_again(api, people):
    first = api.post("/api/messages/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/messages/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.filter(kind="transactional").count() == 1


def test_an_idempotency_key_reused_with_another_body_is_422(api, people):
    api.post("/api/messages/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = api.post(
        "/api/messages/", {**BODY, "recipients": ["c-1"]}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was used with a different request; use a new key for a "
        "new request."
    }


def test_a_failed_request_does_not_use_up_its_idempotency_key(api, people):
    bad = api.post(
        "/api/messages/", {**BODY, "recipients": ["ghost"]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert bad.status_code == 400
    assert (
        api.post("/api/messages/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 202
    )


def test_a_message_to_more_than_the_batch_limit_is_refused(api):
    response = api.post(
        "/api/messages/", {**BODY, "recipients": [f"c-{i}" for i in range(1001)]}, format="json"
    )
    assert response.json() == {"recipients": ["Ensure this field has no more than 1000 elements."]}


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_a_chat_message_is_measured_in_characters_not_bytes(api, settings, made_of, at, over):
    settings.YANDEX_MARKET_API_KEY = "ym-key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    make_recipient(external_id="y-1", addresses={"yandex_market": "12345"})
    message = {"channel": "yandex_market", "recipients": ["y-1"]}

    response = api.post("/api/messages/", {**message, "content": {"body": over}}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "content": ["body: Yandex Market accepts at most 4096 characters; this text has 4097."]
    }
    response = api.post("/api/messages/", {**message, "content": {"body": at}}, format="json")
    assert response.status_code == 202
    assert Campaign.objects.get(pk=response.json()["campaign"]).content["body"] == at
