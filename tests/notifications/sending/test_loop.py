"""The send loop, on the real database, with provider HTTP mocked.

Providers are the real backends; `responses` answers their requests as the vendors document.
"""

import json
from datetime import timedelta

import pytest
import requests
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.campaigns.lifecycle import (
    campaign_complete_if_done,
    campaign_resend_unknown,
    campaign_resume,
)
from notifications.models import Delivery, DeliveryEvent
from notifications.reasons import reason_text
from tests.factories import make_recipient
from tests.notifications.flows import (
    IMSHOP_URL,
    LEADCONVERTER_SEND,
    counted_truth,
    dispatched,
    people,
    send_all,
    statuses,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_providers")]


def test_identical_imshop_pushes_go_out_in_one_request_and_the_campaign_completes(mocked):
    recipients = people(5)
    campaign = dispatched("imshop", recipients, title="Sale", body="Today only")
    mocked.post(IMSHOP_URL, json={"success": True})
    report = send_all(campaign)
    assert report.requests == 1
    body = json.loads(mocked.calls[0].request.body)
    assert sorted(body["userIds"]) == sorted(r.external_id for r in recipients)
    assert body["message"] == {"title": "Sale", "summary": "Today only"}
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    assert statuses(campaign) == {"sent": 5} == counted_truth(campaign)
    # A message that went is its row: no event repeats it while no reader asks for one.
    assert not DeliveryEvent.objects.filter(campaign=campaign, delivery__isnull=False).exists()
    delivery = Delivery.objects.filter(campaign=campaign).first()
    assert delivery.content == {"title": "Sale", "body": "Today only"}
    assert delivery.attempts == 1
    assert delivery.sent_at is not None


def test_personalised_leadconverter_messages_go_out_in_batches_of_100(mocked):
    campaign = dispatched("leadconverter", people(250), body="Hi {{ first_name }}")
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    assert send_all(campaign).requests == 3
    sizes = [len(json.loads(call.request.body)["batch"]) for call in mocked.calls]
    assert sizes == [100, 100, 50]
    first = json.loads(mocked.calls[0].request.body)["batch"][0]
    assert first == {"subscriber_id": 1000, "text": "Hi N0"}
    assert statuses(campaign) == {"sent": 250} == counted_truth(campaign)


def test_a_message_the_same_for_everyone_is_sent_without_reading_its_recipients(mocked):
    recipients = people(5)
    campaign = dispatched("imshop", recipients, title="Sale", body="Today only")
    mocked.post(IMSHOP_URL, json={"success": True})
    with CaptureQueriesContext(connection) as queries:
        report = send_all(campaign)
    assert report.requests == 1
    assert statuses(campaign) == {"sent": 5}
    read_people = [q["sql"] for q in queries if '"notifications_recipient"' in q["sql"]]
    assert read_people == []


def test_a_recipient_whose_message_cannot_render_fails_alone(mocked):
    ok = make_recipient(
        external_id="ok", attributes={"city": "Kazan"}, addresses={"leadconverter": "1"}
    )
    missing = make_recipient(external_id="missing", addresses={"leadconverter": "2"})
    campaign = dispatched("leadconverter", [ok, missing], body="In {{ city }}")
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    send_all(campaign)
    failed = Delivery.objects.get(campaign=campaign, recipient=missing)
    assert failed.status == "failed"
    assert "'city' is undefined" in failed.error
    assert Delivery.objects.get(campaign=campaign, recipient=ok).status == "sent"
    assert len(mocked.calls) == 1


def test_a_transient_error_schedules_a_retry_with_backoff_and_then_it_goes_out(mocked):
    campaign = dispatched("imshop", people(2), title="T", body="B")
    mocked.post(IMSHOP_URL, json={"success": False, "error": "Integration is unavailable"})
    send_all(campaign)
    waiting = Delivery.objects.filter(campaign=campaign)
    assert {d.status for d in waiting} == {"pending"}
    delays = [(d.next_attempt_at - timezone.now()).total_seconds() for d in waiting]
    assert all(14 <= delay <= 31 for delay in delays)  # 30 s base, equal jitter
    assert "Integration is unavailable" in waiting[0].error
    assert send_all(campaign).requests == 0  # not due yet
    waiting.update(next_attempt_at=timezone.now())
    mocked.replace(responses.POST, IMSHOP_URL, json={"success": True})
    send_all(campaign)
    assert statuses(campaign) == {"sent": 2} == counted_truth(campaign)
    assert len(mocked.calls) == 2
    assert set(waiting.values_list("attempts", flat=True)) == {2}


def test_transient_errors_give_up_after_the_attempt_limit(mocked):
    campaign = dispatched("imshop", people(1), title="T", body="B")
    mocked.post(IMSHOP_URL, status=500, body="<html>oops</html>")
    for _ in range(3):
        send_all(campaign)
        Delivery.objects.filter(campaign=campaign, status="pending").update(
            next_attempt_at=timezone.now()
        )
    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.status == "failed"
    assert reason_text(delivery.error).startswith("gave up after 3 attempts")


def test_a_permanent_refusal_fails_the_deliveries_with_the_providers_message(mocked):
    campaign = dispatched("imshop", people(2), title="T", body="B")
    mocked.post(
        IMSHOP_URL,
        status=400,
        json={
            "error": "Bad Request",
            "message": 'child "userIds" fails because ["userIds" must be an array]',
        },
    )
    send_all(campaign)
    assert statuses(campaign) == {"failed": 2}
    assert "must be an array" in Delivery.objects.filter(campaign=campaign).first().error


def test_a_read_timeout_leaves_the_delivery_unknown_and_it_is_never_resent_by_itself(mocked):
    campaign = dispatched("imshop", people(1), title="T", body="B")
    mocked.post(IMSHOP_URL, body=requests.exceptions.ReadTimeout("slow"))
    send_all(campaign)
    assert statuses(campaign) == {"unknown": 1}
    mocked.replace(responses.POST, IMSHOP_URL, json={"success": True})
    assert send_all(campaign).requests == 0
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    assert campaign_resend_unknown(campaign_id=campaign.pk) == 1
    campaign.refresh_from_db()
    assert campaign.status == "running"
    send_all(campaign)
    assert statuses(campaign) == {"sent": 1} == counted_truth(campaign)


def test_rejected_credentials_pause_the_campaign_and_a_resume_after_the_fix_completes_it(mocked):
    campaign = dispatched("imshop", people(3), title="T", body="B")
    mocked.post(IMSHOP_URL, status=401, json={"error": "Unauthorized"})
    report = send_all(campaign)
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "Imshop" in reason_text(campaign.pause_reason)
    assert report.stopped_because == "the provider refused our credentials or configuration"
    assert statuses(campaign) == {"pending": 3} == counted_truth(campaign)
    assert set(Delivery.objects.filter(campaign=campaign).values_list("attempts", flat=True)) == {0}
    mocked.replace(responses.POST, IMSHOP_URL, json={"success": True})
    campaign_resume(campaign_id=campaign.pk)
    send_all(campaign)
    assert statuses(campaign) == {"sent": 3}
    assert campaign_complete_if_done(campaign_id=campaign.pk)


def test_many_failed_requests_in_a_row_open_the_circuit_breaker(mocked, settings):
    settings.IMSHOP_BATCH_SIZE = 1
    campaign = dispatched("imshop", people(5), title="T", body="Hi {{ first_name }}")
    mocked.post(IMSHOP_URL, status=500, body="down")
    report = send_all(campaign)
    campaign.refresh_from_db()
    assert report.requests == 3
    assert campaign.status == "paused"
    assert reason_text(campaign.pause_reason).startswith(
        "Imshop push failed 3 requests in a row; last:"
    )


def test_the_quota_a_provider_reports_is_kept_for_the_status_page(mocked, settings):
    from notifications.models import ProviderQuota

    settings.YANDEX_MARKET_API_URL = "https://yandex.test"
    settings.YANDEX_MARKET_API_KEY = "ym-key"
    settings.YANDEX_MARKET_BUSINESS_ID = "42"
    chat = make_recipient(external_id="chat", addresses={"yandex_market": "777"})
    campaign = dispatched("yandex_market", [chat], body="Hi")
    mocked.post(
        "https://yandex.test/v2/businesses/42/chats/message",
        json={"status": "OK"},
        headers={
            "X-RateLimit-Resource-Limit": "1000",
            "X-RateLimit-Resource-Remaining": "640",
            "X-RateLimit-Resource-Until": "Mon, 23 Nov 2026 14:00:00 GMT",
        },
    )
    send_all(campaign)
    quota = ProviderQuota.objects.get(key="yandex_market:42")
    assert (quota.limit, quota.remaining, quota.resets_at.hour) == (1000, 640, 14)


def test_a_rate_limit_answer_holds_the_deliveries_without_using_an_attempt(mocked):
    campaign = dispatched("imshop", people(1), title="T", body="B")
    mocked.post(IMSHOP_URL, status=429, headers={"Retry-After": "120"}, json={})
    send_all(campaign, budget=2)
    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.status == "pending"
    assert delivery.attempts == 0
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=100)


def test_a_retry_below_the_cursor_goes_out_in_the_same_send_loop(mocked, settings):
    settings.VESTNIK_RETRY_BASE_SECONDS = 0.001
    settings.LEADCONVERTER_BATCH_SIZE = 1
    campaign = dispatched("leadconverter", people(3))
    first = Delivery.objects.filter(campaign=campaign).order_by("id").first()
    failures = iter([True])

    def answer(request):
        if next(failures, False):
            return (500, {}, "busy")
        return (200, {}, '{"result": "ok"}')

    mocked.add_callback(responses.POST, LEADCONVERTER_SEND, callback=answer)
    report = send_all(campaign)
    assert report.stopped_because == "nothing is due"
    assert statuses(campaign) == {"sent": 3} == counted_truth(campaign)
    first.refresh_from_db()
    assert first.attempts == 2
