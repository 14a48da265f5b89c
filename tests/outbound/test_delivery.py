"""Events of real campaigns reach a local receiver: signed, batched, in order per campaign,
retried with backoff, given up after the window, and a failing endpoint disabled."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.campaigns.lifecycle import campaign_complete_if_done, campaign_pause
from notifications.models import Campaign, DeliveryEvent
from notifications.reasons import reason_text
from outbound.fanout import events_fan_out
from outbound.models import Endpoint, Message
from outbound.sender import backoff_seconds, messages_send_due
from outbound.services import endpoint_update, messages_resend
from outbound.signing import signature_valid
from tests.notifications.flows import LEADCONVERTER_SEND, dispatched, people, send_all

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def drain(rounds: int = 40) -> None:
    """Fan out and send until nothing moves (PostgreSQL settles an event in three fan-outs)."""
    quiet = 0
    for _ in range(rounds):
        moved = events_fan_out() + messages_send_due()
        quiet = 0 if moved else quiet + 1
        if quiet >= 4:
            return


def sent_campaign(mocked, count: int = 3, offset: int = 0) -> Campaign:
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    recipients = people(count) if not offset else people_from(offset, count)
    campaign = dispatched("leadconverter", recipients)
    send_all(campaign)
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    return campaign


def people_from(offset: int, count: int):
    from tests.factories import make_recipient

    return [
        make_recipient(
            external_id=f"p-{offset + i}", addresses={"leadconverter": str(5000 + offset + i)}
        )
        for i in range(count)
    ]


def test_every_event_arrives_once_signed_and_in_order(mocked, endpoint_on, receiver):
    endpoint = endpoint_on()
    campaign = sent_campaign(mocked, count=3)
    drain()
    (request,) = receiver.received
    assert signature_valid(endpoint.secret, request.headers, request.body)
    assert request.headers["Vestnik-Message-Id"] == str(Message.objects.get().pk)
    events = request.events
    expected = DeliveryEvent.objects.filter(
        campaign=campaign, type__in=["campaign_status", "sent"]
    ).order_by("id")
    assert [e["id"] for e in events] == [e.pk for e in expected]
    assert [e["type"] for e in events] == ["campaign.status"] + ["delivery.sent"] * 3 + [
        "campaign.status"
    ]
    assert [e["data"]["status"] for e in events if e["type"] == "campaign.status"] == [
        "running",
        "completed",
    ]
    first_sent = events[1]
    assert first_sent["campaign"] == {"id": campaign.pk, "name": campaign.name, "kind": "campaign"}
    assert first_sent["recipient"].startswith("c-")
    assert first_sent["delivery_id"] is not None
    message = Message.objects.get()
    assert (message.status, message.attempts, message.last_status_code) == ("delivered", 1, 200)


def test_a_signature_over_another_body_or_an_old_timestamp_is_invalid(
    mocked, endpoint_on, receiver
):
    endpoint = endpoint_on()
    sent_campaign(mocked, count=1)
    drain()
    (request,) = receiver.received
    assert not signature_valid(endpoint.secret, request.headers, request.body + b" ")
    assert not signature_valid("whsec_other", request.headers, request.body)
    late = int(request.headers["Vestnik-Timestamp"]) + 301
    assert not signature_valid(endpoint.secret, request.headers, request.body, now=late)


def test_each_endpoint_gets_only_what_it_subscribed_to_and_nothing_from_before_it(
    mocked, endpoint_on, receiver
):
    sent_campaign(mocked, count=2)  # before any endpoint: never sent
    statuses = endpoint_on(events=["campaign.status"])
    sends = endpoint_on(events=["delivery.sent"])
    campaign = sent_campaign(mocked, count=2, offset=100)
    drain()
    by_endpoint = {
        endpoint.pk: [json.loads(m.body)["events"] for m in endpoint.messages.all()]
        for endpoint in (statuses, sends)
    }
    status_events = [e for body in by_endpoint[statuses.pk] for e in body]
    assert {e["type"] for e in status_events} == {"campaign.status"}
    assert {e["campaign"]["id"] for e in status_events} == {campaign.pk}
    sent_events = [e for body in by_endpoint[sends.pk] for e in body]
    assert [e["type"] for e in sent_events] == ["delivery.sent"] * 2
    assert len(receiver.accepted()) == 2


def test_test_sends_are_not_told_to_integrations(mocked, endpoint_on, receiver):
    endpoint_on()
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    campaign = dispatched("leadconverter", people(1))
    Campaign.objects.filter(pk=campaign.pk).update(kind=Campaign.Kind.TEST)
    send_all(campaign)
    drain()
    assert receiver.received == []


def test_batches_of_one_campaign_go_one_at_a_time_in_order(settings, mocked, endpoint_on, receiver):
    settings.OUTBOUND_WEBHOOK_BATCH = 2
    endpoint_on()
    sent_campaign(mocked, count=5)  # 7 events: running, 5 sent, completed
    drain()
    assert [len(r.events) for r in receiver.received] == [2, 2, 2, 1]
    ids = [e["id"] for r in receiver.received for e in r.events]
    assert ids == sorted(ids)
    assert len(ids) == 7


def test_a_failing_receiver_is_retried_with_backoff_and_the_campaign_waits_its_turn(
    settings, mocked, endpoint_on, receiver
):
    settings.OUTBOUND_WEBHOOK_BATCH = 2
    settings.OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS = 60
    endpoint_on()
    sent_campaign(mocked, count=3)
    receiver.fail_until = float("inf")
    drain()
    first, *later = Message.objects.order_by("id")
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert first.last_answer == "receiver says no"
    wait = (first.next_attempt_at - first.last_attempt_at).total_seconds()
    assert 30 <= wait <= 60
    # One request: the later messages wait behind the first.
    assert len(receiver.received) == 1
    assert all(m.attempts == 0 for m in later)
    endpoint = Endpoint.objects.get()
    assert endpoint.failing_since is not None
    assert endpoint.is_active

    receiver.fail_until = 0
    Message.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    drain()
    assert Message.objects.filter(status="delivered").count() == 3
    ids = [e["id"] for r in receiver.accepted() for e in r.events]
    assert ids == sorted(ids)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_another_campaign_is_not_held_up_by_one_that_fails(settings, mocked, endpoint_on, receiver):
    endpoint = endpoint_on()
    first = sent_campaign(mocked, count=1)
    second = sent_campaign(mocked, count=1, offset=200)
    events_fan_out()
    events_fan_out()
    events_fan_out()
    stuck = Message.objects.get(campaign=first)
    Message.objects.filter(pk=stuck.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    drain()
    assert Message.objects.get(campaign=second).status == "delivered"
    assert Message.objects.get(campaign=first).status == "pending"
    assert endpoint.messages.count() == 2


def test_a_message_failing_past_the_window_is_failed_and_the_next_goes(
    settings, mocked, endpoint_on, receiver
):
    settings.OUTBOUND_WEBHOOK_BATCH = 3
    settings.OUTBOUND_WEBHOOK_RETRY_SECONDS = 0
    endpoint_on()
    sent_campaign(mocked, count=2)  # 4 events: two messages
    receiver.fail_until = float("inf")
    drain()
    assert list(Message.objects.order_by("id").values_list("status", "attempts")) == [
        ("failed", 1),
        ("failed", 1),
    ]


def test_an_endpoint_failing_for_long_is_disabled_with_the_reason(
    settings, mocked, endpoint_on, receiver
):
    settings.OUTBOUND_WEBHOOK_DISABLE_SECONDS = 0
    endpoint = endpoint_on()
    sent_campaign(mocked, count=1)
    receiver.fail_until = float("inf")
    drain()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "the last answer: receiver says no" in reason_text(endpoint.disabled_reason)
    assert Message.objects.get().status == "pending"
    assert len(receiver.received) == 1

    # Turned on again by staff: the waiting message goes out.
    receiver.fail_until = 0
    endpoint_update(endpoint=endpoint, data={"is_active": True})
    endpoint.refresh_from_db()
    assert (endpoint.disabled_reason, endpoint.failing_since) == ("", None)
    Message.objects.update(next_attempt_at=None)
    drain()
    assert Message.objects.get().status == "delivered"


def test_a_redirect_is_a_failure_and_is_not_followed(mocked, endpoint_on, receiver):
    endpoint_on()
    sent_campaign(mocked, count=1)
    receiver.status = 301
    receiver.headers = {"Location": "http://127.0.0.1:9/elsewhere"}
    drain()
    message = Message.objects.get()
    assert (message.status, message.last_status_code) == ("pending", 301)
    assert reason_text(message.last_answer).startswith("A redirect (not followed).")
    assert len(receiver.received) == 1


def test_an_endpoint_refused_at_the_request_is_a_failure_with_the_reason(
    settings, mocked, endpoint_on, receiver
):
    endpoint_on()
    sent_campaign(mocked, count=1)
    settings.OUTBOUND_WEBHOOK_ALLOWED_NETWORKS = []
    drain()
    message = Message.objects.get()
    assert message.status == "pending"
    assert reason_text(message.last_answer).startswith("Not requested: 127.0.0.1 is a private")
    assert receiver.received == []


def test_resend_sends_a_delivered_message_again_byte_for_byte(mocked, endpoint_on, receiver):
    endpoint_on()
    sent_campaign(mocked, count=1)
    drain()
    message = Message.objects.get()
    assert messages_resend(message_ids=[message.pk]) == 1
    drain()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 1)
    first, again = receiver.received
    assert first.body == again.body


def test_a_pause_is_told_with_who_and_why(mocked, endpoint_on, receiver, django_user_model):
    endpoint_on(events=["campaign.status"])
    user = django_user_model.objects.create_user("anna", is_staff=True)
    campaign = dispatched("leadconverter", people(1))
    campaign_pause(campaign_id=campaign.pk, user=user)
    drain()
    events = [e for r in receiver.received for e in r.events]
    assert [(e["data"]["status"], e["data"]["previous"]) for e in events] == [
        ("running", "draft"),
        ("paused", "running"),
    ]
    assert events[1]["data"]["by"] == "anna"
    assert events[1]["detail"] == "Paused by anna."
    assert (events[1]["detail_code"], events[1]["detail_params"]) == ("paused_by", {"who": "anna"})


def test_backoff_doubles_up_to_the_cap_with_jitter(settings):
    settings.OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.OUTBOUND_WEBHOOK_RETRY_MAX_SECONDS = 3600
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (10, 3600), (30, 3600)]:
        waits = {backoff_seconds(attempts) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1


def test_a_url_the_request_cannot_even_encode_fails_that_message_only(
    mocked, endpoint_on, receiver
):
    broken, working = endpoint_on(), endpoint_on()
    Endpoint.objects.filter(pk=broken.pk).update(url="https://" + "x" * 70 + ".example/in")
    sent_campaign(mocked, count=1)
    drain()
    assert Message.objects.get(endpoint=working).status == "delivered"
    failed = Message.objects.get(endpoint=broken)
    assert failed.status == "pending"
    assert reason_text(failed.last_answer).startswith("No answer: UnicodeError")


def test_the_readme_snippet_verifies_a_real_request(mocked, endpoint_on, receiver, settings):
    readme = (settings.BASE_DIR / "README.md").read_text()
    snippet = readme.split("```python\nimport hashlib\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec("import hashlib\n" + snippet, scope)  # noqa: S102 - our own README, under test
    endpoint = endpoint_on()
    sent_campaign(mocked, count=1)
    drain()
    (request,) = receiver.received
    assert scope["verified"](endpoint.secret, request.headers, request.body)
    assert not scope["verified"](endpoint.secret, request.headers, request.body[:-1] + b" ")


def test_a_sent_event_is_written_only_while_an_active_endpoint_wants_it(mocked, endpoint_on):
    def sent_events(campaign: Campaign) -> int:
        return DeliveryEvent.objects.filter(campaign=campaign, type="sent").count()

    failures = endpoint_on(events=["delivery.failed"])
    unwanted = sent_campaign(mocked, count=2)
    sends = endpoint_on(events=["delivery.sent"])
    wanted = sent_campaign(mocked, count=2, offset=100)
    endpoint_update(endpoint=sends, data={"is_active": False})
    off_again = sent_campaign(mocked, count=2, offset=200)
    endpoint_update(endpoint=failures, data={"events": ["delivery.failed", "delivery.sent"]})
    wanted_again = sent_campaign(mocked, count=2, offset=300)

    assert [sent_events(c) for c in (unwanted, wanted, off_again, wanted_again)] == [0, 2, 0, 2]
    # The rows say the same whether or not an event repeats them.
    for campaign in (unwanted, wanted):
        assert campaign.deliveries.filter(status="sent", sent_at__isnull=False).count() == 2
