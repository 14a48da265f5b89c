"""The campaign lifecycle and the send loop, on the real database, with provider HTTP mocked.

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

from notifications.connections import build_provider
from notifications.models import Campaign, Delivery, DeliveryCounter, DeliveryEvent
from notifications.providers.base import ResultStatus, SendResult
from notifications.sending.claims import deliveries_claim, deliveries_start
from notifications.sending.counters import counters_rebuild
from notifications.sending.leases import deliveries_expire_leases
from notifications.sending.loop import campaign_send
from notifications.sending.outcomes import deliveries_record
from notifications.sending.tasks import tick
from notifications.services import (
    TransitionError,
    campaign_cancel,
    campaign_complete_if_done,
    campaign_dispatch,
    campaign_materialise,
    campaign_pause,
    campaign_resend_unknown,
    campaign_resume,
    campaign_retry_failed,
    campaign_send_test,
    campaigns_start_due,
)
from tests.factories import make_audience, make_campaign, make_recipient, make_template

pytestmark = pytest.mark.django_db

IMSHOP_URL = "https://imshop.test/push"
LEADCONVERTER_URL = "https://leadconverter.test/api/v1"
LEADCONVERTER_SEND = f"{LEADCONVERTER_URL}/lc-token/broadcasting.sendMessageBatch"


@pytest.fixture(autouse=True)
def providers(settings):
    settings.IMSHOP_PUSH_URL = IMSHOP_URL
    settings.IMSHOP_API_KEY = "imshop-key"
    settings.IMSHOP_RATE = "1000/s"
    settings.IMSHOP_BURST = 1000
    settings.LEADCONVERTER_API_URL = LEADCONVERTER_URL
    settings.LEADCONVERTER_TOKEN = "lc-token"
    settings.LEADCONVERTER_RATE = "1000/s"
    settings.LEADCONVERTER_BURST = 1000
    settings.VESTNIK_RETRY_BASE_SECONDS = 30
    settings.VESTNIK_MAX_ATTEMPTS = 3
    settings.VESTNIK_BREAKER_THRESHOLD = 3


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def people(count: int, **fields):
    return [
        make_recipient(
            external_id=f"c-{i}",
            first_name=f"N{i}",
            addresses={"leadconverter": str(1000 + i)},
            **fields,
        )
        for i in range(count)
    ]


def dispatched(channel: str, recipients, **template_fields):
    """A campaign dispatched and materialised, its senders not run."""
    template = make_template(**template_fields) if template_fields else make_template()
    campaign = make_campaign(make_audience(*recipients), channel=channel, template=template)
    campaign_dispatch(campaign_id=campaign.pk)
    campaign_materialise(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def send_all(campaign, budget: float = 30):
    return campaign_send(
        campaign_id=campaign.pk, provider=build_provider(campaign.channel), budget_seconds=budget
    )


def statuses(campaign) -> dict[str, int]:
    return {c.status: c.count for c in DeliveryCounter.objects.filter(campaign=campaign) if c.count}


def counted_truth(campaign) -> dict[str, int]:
    return {k: v for k, v in counters_rebuild(campaign_id=campaign.pk).items() if v}


# --- Dispatch -----------------------------------------------------------------------------


def test_dispatch_freezes_the_content_and_starts_the_campaign():
    campaign = make_campaign(
        make_audience(*people(2)), template=make_template(title="Hi", body="B")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    campaign.template.body = "edited later"
    campaign.template.save()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.content["body"] == "B"
    assert campaign.started_at is not None


def test_dispatch_with_a_future_time_schedules_and_the_tick_starts_it_when_due():
    campaign = make_campaign(make_audience(*people(1)))
    campaign_dispatch(campaign_id=campaign.pk, scheduled_at=timezone.now() + timedelta(hours=1))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaigns_start_due() == []
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    assert campaigns_start_due() == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "The audience is empty"),
        ("unconfigured", "Imshop push is not configured: IMSHOP_API_KEY is not set"),
        ("no_title", "Imshop pushes need a title."),
        ("renders_for_nobody", "The message renders for none of the first recipients"),
    ],
)
def test_dispatch_refuses_with_a_sentence_and_the_campaign_stays_a_draft(settings, setup, message):
    recipients = [] if setup == "empty" else people(2)
    fields = {"title": "Hi", "body": "B"}
    if setup == "no_title":
        fields["title"] = ""
    if setup == "renders_for_nobody":
        make_recipient(external_id="has-city", attributes={"city": "Kazan"})
        fields["body"] = "{{ city }}"
    if setup == "unconfigured":
        settings.IMSHOP_API_KEY = ""
    campaign = make_campaign(make_audience(*recipients), template=make_template(**fields))
    with pytest.raises(TransitionError, match=message):
        campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.dispatched_at is None


def test_a_campaign_is_dispatched_only_once():
    campaign = make_campaign(make_audience(*people(1)))
    campaign_dispatch(campaign_id=campaign.pk)
    with pytest.raises(TransitionError, match=r"Cannot dispatch .*: it is running\."):
        campaign_dispatch(campaign_id=campaign.pk)


# --- Materialisation ----------------------------------------------------------------------


def test_materialise_makes_one_delivery_per_distinct_recipient_and_skips_with_reasons():
    reachable = people(3)
    opted_out = make_recipient(
        opted_out_at=timezone.now(), addresses={"leadconverter": "77"}, external_id="out"
    )
    no_address = make_recipient(external_id="nowhere")
    template = make_template(body="Hi")
    campaign = make_campaign(
        make_audience(*reachable, opted_out),
        make_audience(reachable[0], no_address),  # overlapping audiences
        channel="leadconverter",
        template=template,
    )
    campaign_dispatch(campaign_id=campaign.pk)
    counts = campaign_materialise(campaign_id=campaign.pk)
    assert counts == {"pending": 3, "skipped": 2}
    skipped = dict(
        Delivery.objects.filter(campaign=campaign, status="skipped").values_list(
            "recipient__external_id", "error"
        )
    )
    assert skipped == {"out": "The recipient opted out.", "nowhere": "No LeadConverter address."}
    assert DeliveryEvent.objects.filter(campaign=campaign, type="skipped").count() == 2
    assert Delivery.objects.get(recipient=reachable[1], campaign=campaign).address == "1001"


def test_materialising_again_changes_nothing():
    campaign = dispatched("leadconverter", people(4))
    campaign_materialise(campaign_id=campaign.pk)
    assert Delivery.objects.filter(campaign=campaign).count() == 4
    assert statuses(campaign) == {"pending": 4}


def test_a_second_materialisation_leaves_counters_that_senders_change_alone():
    # Rebuilding the counters while senders add to them would lose their changes.
    campaign = dispatched("leadconverter", people(4))
    deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=60)
    with CaptureQueriesContext(connection) as queries:
        assert campaign_materialise(campaign_id=campaign.pk) == {"pending": 2, "sending": 2}
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []


def test_the_tick_does_not_queue_a_second_materialisation_while_the_first_runs(
    django_capture_on_commit_callbacks,
):
    campaign = make_campaign(make_audience(*people(2)), channel="leadconverter")
    campaign_dispatch(campaign_id=campaign.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert tick()["woken"] == []
    assert callbacks == []


def test_imshop_uses_the_external_id_when_no_imshop_address_is_given():
    recipient = make_recipient(external_id="shop-user-1")
    campaign = dispatched("imshop", [recipient])
    assert Delivery.objects.get(campaign=campaign).address == "shop-user-1"


def test_materialise_in_small_ranges_covers_everyone():
    recipients = people(7)
    campaign = make_campaign(
        make_audience(*recipients), channel="leadconverter", template=make_template(body="x")
    )
    campaign_dispatch(campaign_id=campaign.pk)
    assert campaign_materialise(campaign_id=campaign.pk, chunk=2) == {"pending": 7}


# --- Sending ------------------------------------------------------------------------------


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
    assert DeliveryEvent.objects.filter(campaign=campaign, type="sent").count() == 5
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
    assert delivery.error.startswith("gave up after 3 attempts")


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
    assert "imshop" in campaign.pause_reason
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
    assert campaign.pause_reason.startswith("imshop failed 3 requests in a row; last:")


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


# --- Claims, pause, cancel, leases --------------------------------------------------------


def test_two_claims_never_hold_the_same_delivery():
    campaign = dispatched("leadconverter", people(10))
    _, first = deliveries_claim(campaign_id=campaign.pk, limit=6, lease_seconds=60)
    _, second = deliveries_claim(campaign_id=campaign.pk, limit=6, lease_seconds=60)
    assert len(first) == 6
    assert len(second) == 4
    assert not {c.id for c in first} & {c.id for c in second}
    assert statuses(campaign) == {"sending": 10} == counted_truth(campaign)


def test_a_claim_starts_after_the_senders_cursor():
    campaign = dispatched("leadconverter", people(6))
    ids = sorted(Delivery.objects.filter(campaign=campaign).values_list("id", flat=True))
    _, claimed = deliveries_claim(
        campaign_id=campaign.pk, limit=10, lease_seconds=60, after_id=ids[3]
    )
    assert [c.id for c in claimed] == ids[4:]


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


def test_pause_takes_back_claims_whose_request_has_not_begun_and_resume_sends_them_once(mocked):
    campaign = dispatched("leadconverter", people(4))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=4, lease_seconds=60)
    campaign_pause(campaign_id=campaign.pk, reason="checking the text")
    assert (
        deliveries_start(campaign_id=campaign.pk, token=token, ids=[c.id for c in claimed]) == set()
    )
    assert statuses(campaign) == {"pending": 4} == counted_truth(campaign)
    campaign.refresh_from_db()
    assert campaign.pause_reason == "checking the text"
    campaign_resume(campaign_id=campaign.pk)
    mocked.post(LEADCONVERTER_SEND, json={"result": "ok"})
    send_all(campaign)
    assert statuses(campaign) == {"sent": 4}
    assert len(mocked.calls) == 1


def test_a_request_that_began_before_pause_is_recorded_after_it():
    campaign = dispatched("leadconverter", people(2))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=60)
    ids = [c.id for c in claimed]
    assert deliveries_start(campaign_id=campaign.pk, token=token, ids=ids) == set(ids)
    campaign_pause(campaign_id=campaign.pk)
    deliveries_record(
        campaign_id=campaign.pk,
        token=token,
        results=[SendResult(i, ResultStatus.SENT) for i in ids],
        contents={},
        recipients={c.id: c.recipient_id for c in claimed},
        attempts=dict.fromkeys(ids, 1),
    )
    assert statuses(campaign) == {"sent": 2} == counted_truth(campaign)


def test_cancel_cancels_what_has_not_gone_out_and_nothing_starts_after_it():
    campaign = dispatched("leadconverter", people(5))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=2, lease_seconds=60)
    campaign_cancel(campaign_id=campaign.pk)
    assert (
        deliveries_start(campaign_id=campaign.pk, token=token, ids=[c.id for c in claimed]) == set()
    )
    assert statuses(campaign) == {"cancelled": 5} == counted_truth(campaign)
    with pytest.raises(TransitionError, match="it is cancelled"):
        campaign_resume(campaign_id=campaign.pk)


def test_an_expired_lease_makes_begun_requests_unknown_and_returns_the_rest():
    campaign = dispatched("leadconverter", people(4))
    token, claimed = deliveries_claim(campaign_id=campaign.pk, limit=4, lease_seconds=60)
    begun = [c.id for c in claimed[:2]]
    deliveries_start(campaign_id=campaign.pk, token=token, ids=begun)
    Delivery.objects.filter(campaign=campaign).update(lease_expires_at=timezone.now())
    assert deliveries_expire_leases() == {"unknown": 2, "released": 2}
    assert statuses(campaign) == {"unknown": 2, "pending": 2} == counted_truth(campaign)
    # The worker wakes up late: its answer no longer counts.
    deliveries_record(
        campaign_id=campaign.pk,
        token=token,
        results=[SendResult(i, ResultStatus.SENT) for i in begun],
        contents={},
        recipients={},
        attempts={},
    )
    assert statuses(campaign) == {"unknown": 2, "pending": 2}
    assert DeliveryEvent.objects.filter(campaign=campaign, type="unknown").count() == 2


def test_retry_failed_sends_the_failed_again(mocked):
    campaign = dispatched("imshop", people(2), title="T", body="B")
    mocked.post(IMSHOP_URL, status=400, json={"error": "Bad Request", "message": "nope"})
    send_all(campaign)
    assert campaign_complete_if_done(campaign_id=campaign.pk)
    assert campaign_retry_failed(campaign_id=campaign.pk) == 2
    mocked.replace(responses.POST, IMSHOP_URL, json={"success": True})
    send_all(campaign)
    assert statuses(campaign) == {"sent": 2} == counted_truth(campaign)


@pytest.mark.parametrize(
    ("status", "action", "call"),
    [
        ("draft", "pause", campaign_pause),
        ("completed", "pause", campaign_pause),
        ("running", "resume", campaign_resume),
        ("completed", "cancel", campaign_cancel),
        ("draft", "retry", campaign_retry_failed),
    ],
)
def test_illegal_transitions_are_refused_with_a_sentence(status, action, call):
    campaign = make_campaign(name="Spring", status=status)
    with pytest.raises(TransitionError) as refused:
        call(campaign_id=campaign.pk)
    assert str(refused.value) == f"Cannot {action} 'Spring': it is {status}."


# --- Test sends ---------------------------------------------------------------------------


def test_a_test_send_goes_to_chosen_recipients_and_leaves_the_campaign_alone(mocked):
    recipients = people(3)
    campaign = make_campaign(
        make_audience(*recipients), template=make_template(title="T", body="B")
    )
    test = campaign_send_test(campaign_id=campaign.pk, recipient_ids=[recipients[0].pk])
    mocked.post(IMSHOP_URL, json={"success": True})
    send_all(test)
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    assert not Delivery.objects.filter(campaign=campaign).exists()
    assert (test.kind, test.parent_id) == ("test", campaign.pk)
    assert json.loads(mocked.calls[0].request.body)["userIds"] == ["c-0"]


def test_a_test_send_skips_like_a_campaign_with_the_reason_and_its_event():
    reachable = make_recipient(external_id="in")
    opted_out = make_recipient(external_id="out", opted_out_at=timezone.now())
    campaign = make_campaign(make_audience(reachable), template=make_template(title="T", body="B"))
    test = campaign_send_test(campaign_id=campaign.pk, recipient_ids=[reachable.pk, opted_out.pk])
    skipped = Delivery.objects.get(campaign=test, recipient=opted_out)
    assert (skipped.status, skipped.error) == ("skipped", "The recipient opted out.")
    assert Delivery.objects.get(campaign=test, recipient=reachable).address == "in"
    assert DeliveryEvent.objects.filter(campaign=test, type="skipped").count() == 1
    assert statuses(test) == {"pending": 1, "skipped": 1}
