"""Retention: the tick removes old rows a batch at a time, and a campaign's numbers survive."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task

from notifications import retention
from notifications.campaigns.lifecycle import campaign_retry_failed
from notifications.campaigns.timeline import campaign_timeline
from notifications.errors import StateConflict
from notifications.models import (
    Campaign,
    CountedSend,
    Delivery,
    DeliveryEvent,
)
from notifications.sending.counters import counters_rebuild
from notifications.sending.tasks import tick
from tests.factories import make_campaign, make_recipient
from webhooks.models import InboundEvent, InboundWebhook

from .api.conftest import api  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

SALE = "https://shop.test/sale"


def _campaign_with_rows(*, status: str, finished_days_ago: int | None, **fields) -> Campaign:
    """5 sent, 2 failed, 1 unknown, 2 skipped; a `sent` event per sent delivery; SMS 1 to 4
    sent, SMS 4 lost, SMS 1 clicked twice on the sale, SMS 2 once on no link, SMS 9 (no
    recipient) on the sale; a status change in its history; a counted send."""
    now = timezone.now()
    finished = None if finished_days_ago is None else now - timedelta(days=finished_days_ago)
    started = (finished or now) - timedelta(hours=2)
    campaign = make_campaign(
        channel="yandex_market",
        status=status,
        content={"body": "Hi"},
        sendios_project_id=1,
        started_at=started,
        dispatched_at=started,
        finished_at=finished,
        materialised_at=started,
        **fields,
    )
    statuses = ["sent"] * 5 + ["failed"] * 2 + ["unknown", "skipped", "skipped"]
    made = [
        Delivery.objects.create(campaign=campaign, recipient=make_recipient(), status=status)
        for status in statuses
    ]
    counters_rebuild(campaign_id=campaign.pk)
    old = started + timedelta(minutes=5)
    for minute, delivery in enumerate(made[:5]):
        delivery.sent_at = old + timedelta(minutes=minute * 20)
        delivery.save(update_fields=["sent_at"])
    CountedSend.objects.create(
        delivery=made[0], recipient_id=made[0].recipient_id, channel="yandex_market", sent_at=old
    )

    def sms(kind: str, sms_id: int, delivery: Delivery | None, link: str = "") -> DeliveryEvent:
        return DeliveryEvent.objects.create(
            type=kind,
            campaign=campaign,
            delivery=delivery,
            recipient_id=delivery.recipient_id if delivery else None,
            sms_id=sms_id,
            link=link,
            occurred_at=old,
            created_at=old,
        )

    for number in range(1, 5):
        sms("sms_sent", number, made[number - 1])
    sms("sms_lost", 4, made[3])
    sms("sms_click", 1, made[0], SALE)
    sms("sms_click", 1, made[0], SALE)
    sms("sms_click", 2, made[1])
    click = sms("sms_click", 9, None, SALE)
    # The inbox entry the click came in: it outlives the event here (its own, longer age).
    inbound = InboundWebhook.objects.create(body=b"[]")
    InboundEvent.objects.create(
        inbound=inbound, position=0, outcome="accepted", delivery_event=click
    )
    DeliveryEvent.objects.create(
        type="campaign_status", campaign=campaign, data={"status": status}, created_at=old
    )
    return campaign


def _rows(campaign: Campaign) -> tuple[int, int]:
    """The campaign's deliveries and events, but for its status changes (the tick completes a
    running campaign with nothing left to send, which adds one)."""
    return (
        Delivery.objects.filter(campaign=campaign).count(),
        DeliveryEvent.objects.filter(campaign=campaign).exclude(type="campaign_status").count(),
    )


@pytest.fixture
def small_turns(monkeypatch):
    """Three rows a statement and one round a tick: the removal takes several ticks."""
    monkeypatch.setattr(retention, "BATCH_ROWS", 3)
    monkeypatch.setattr(retention, "BUDGET_SECONDS", 0)


def _tick_until_done(most: int = 30) -> int:
    """Ticks until a tick's retention removed nothing; how many did something."""
    for ticks in range(most):
        if not any(tick()["retention"].values()):
            return ticks
    raise AssertionError("retention never finished")


def test_a_finished_campaign_past_retention_loses_its_rows_over_several_ticks(small_turns):
    old = _campaign_with_rows(status="completed", finished_days_ago=200)

    ticks = _tick_until_done()

    assert ticks > 3
    old.refresh_from_db()
    assert old.details_removed_at is not None
    assert _rows(old) == (0, 0)
    # Its status history stays: a few rows, what became of the campaign itself.
    assert DeliveryEvent.objects.filter(campaign=old, type="campaign_status").count() == 1
    assert not CountedSend.objects.exists()
    # The inbox keeps its entry and lets go of the event.
    assert InboundEvent.objects.get().delivery_event is None


def test_running_paused_scheduled_and_recently_finished_campaigns_keep_their_rows(small_turns):
    running = _campaign_with_rows(status="running", finished_days_ago=None)
    paused = _campaign_with_rows(status="paused", finished_days_ago=None)
    scheduled = _campaign_with_rows(status="scheduled", finished_days_ago=None)
    recent = _campaign_with_rows(status="cancelled", finished_days_ago=179)
    kept = {c.pk: _rows(c) for c in (running, paused, scheduled, recent)}
    _campaign_with_rows(status="cancelled", finished_days_ago=181)

    _tick_until_done()

    assert {c.pk: _rows(c) for c in (running, paused, scheduled, recent)} == kept
    assert not Campaign.objects.filter(pk__in=kept, details_removed_at__isnull=False).exists()


def test_zero_or_empty_retention_keeps_a_finished_campaigns_rows_for_ever(settings, small_turns):
    settings.DELIVERIES_KEEP_DAYS = settings.EVENTS_KEEP_DAYS = None
    old = _campaign_with_rows(status="completed", finished_days_ago=2000)
    before = _rows(old)

    _tick_until_done()

    assert _rows(old) == before


def test_the_report_stats_and_comparison_read_the_same_after_the_rows_are_removed(
    api,  # noqa: F811
    small_turns,
):
    old = _campaign_with_rows(status="completed", finished_days_ago=200)
    other = _campaign_with_rows(status="completed", finished_days_ago=10)
    urls = [
        f"/api/campaigns/{old.pk}/report/",
        f"/api/campaigns/{old.pk}/stats/",
        f"/api/campaigns/compare/?ids={old.pk},{other.pk}",
    ]
    before = [api.get(url).json() for url in urls]
    timeline_before = campaign_timeline(campaign=old)

    _tick_until_done()

    assert _rows(old) == (0, 0)
    assert [api.get(url).json() for url in urls] == before
    assert before[0]["links"] == [
        {"link": SALE, "clickers": 2, "clicks": 3},
        {"link": "", "clickers": 1, "clicks": 1},
    ]
    assert before[0]["sms"]["delivered"] == 4
    old.refresh_from_db()
    assert campaign_timeline(campaign=old) == timeline_before
    assert timeline_before.total("sent") == 5


def _funnel_numbers(page: str) -> dict[str, str]:
    """Label -> the cell of each number in the campaign page's funnels, as HTML."""
    funnel = page.split('id="funnel"', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">(.*?)</td>', funnel))


def _digits(cell: str) -> str:
    return re.sub(r"<[^>]+>| ·.*", "", cell)


def test_the_campaign_page_says_details_were_removed_and_shows_its_numbers_without_links(
    admin_client, small_turns
):
    old = _campaign_with_rows(status="completed", finished_days_ago=200)
    url = reverse("admin:notifications_campaign_change", args=[old.pk])
    before = _funnel_numbers(admin_client.get(url).content.decode())

    _tick_until_done()

    page = admin_client.get(url).content.decode()
    old.refresh_from_db()
    assert "Details removed after 180 days, on " in page
    after = _funnel_numbers(page)
    assert {k: _digits(v) for k, v in after.items()} == {k: _digits(v) for k, v in before.items()}
    assert "href" in "".join(before.values())
    assert "href" not in "".join(after.values())
    assert "New audience from:" not in page
    listing = admin_client.get(reverse("admin:notifications_campaign_changelist")).content
    assert f"campaign__id__exact={old.pk}".encode() not in listing


def test_retrying_a_campaign_whose_deliveries_were_removed_is_refused_with_a_sentence(
    small_turns,
):
    old = _campaign_with_rows(status="completed", finished_days_ago=200)
    _tick_until_done()

    with pytest.raises(StateConflict, match="they were removed, only its numbers are kept"):
        campaign_retry_failed(campaign_id=old.pk)


def test_events_of_no_campaign_the_inbox_and_finished_tasks_go_by_their_own_age(small_turns):
    now = timezone.now()
    for age in (181, 181, 181, 181, 10):
        DeliveryEvent.objects.create(type="sms_sent", sms_id=age, created_at=now - timedelta(age))
    for age in (31, 31, 31, 31, 5):
        inbound = InboundWebhook.objects.create(body=b"[]")
        InboundEvent.objects.create(inbound=inbound, position=0, outcome="rejected")
        InboundWebhook.objects.filter(pk=inbound.pk).update(received_at=now - timedelta(age))
    for number, age in enumerate((8, 8, 8, 8, 1)):
        Task.objects.create(
            id=f"task-{number}",
            name=f"task-{number}",
            func="notifications.sending.tasks.tick",
            started=now - timedelta(age),
            stopped=now - timedelta(age),
            success=number % 2 == 0,
        )

    _tick_until_done()

    assert list(DeliveryEvent.objects.values_list("sms_id", flat=True)) == [10]
    assert InboundWebhook.objects.count() == InboundEvent.objects.count() == 1
    assert list(Task.objects.values_list("name", flat=True)) == ["task-4"]


def test_a_finished_campaigns_caps_turned_off_stay_in_its_history(small_turns):
    old = _campaign_with_rows(status="completed", finished_days_ago=200)
    DeliveryEvent.objects.create(
        type="campaign_caps", campaign=old, data={"caps_on": False, "by": "admin"}
    )
    _tick_until_done()
    old.refresh_from_db()
    assert old.details_removed_at is not None
    kept = DeliveryEvent.objects.filter(campaign=old, type="campaign_caps")
    assert list(kept.values_list("data__by", flat=True)) == ["admin"]


def test_a_campaigns_events_go_before_its_deliveries(small_turns):
    old = _campaign_with_rows(status="completed", finished_days_ago=200)
    deliveries_before, _ = _rows(old)
    seen = []

    while any(retention.retention_purge(now=timezone.now()).values()):
        seen.append(_rows(old))

    # No delivery went while an event still pointed at it: none had to let go of its delivery.
    assert [events for deliveries, events in seen if deliveries < deliveries_before]
    assert all(events == 0 for deliveries, events in seen if deliveries < deliveries_before)
    assert seen[-1] == (0, 0)


def test_deliveries_kept_shorter_than_events_go_and_their_events_stay_without_them(
    settings, small_turns, monkeypatch
):
    settings.DELIVERIES_KEEP_DAYS = 90
    monkeypatch.setattr(retention, "UNLINK_ROWS", 2)
    old = _campaign_with_rows(status="completed", finished_days_ago=100)
    events = DeliveryEvent.objects.filter(campaign=old).count()

    _tick_until_done()

    assert _rows(old)[0] == 0
    assert DeliveryEvent.objects.filter(campaign=old).count() == events
    assert not DeliveryEvent.objects.filter(delivery__isnull=False).exists()
    assert not CountedSend.objects.exists()


def test_an_event_linked_again_between_the_unlinking_and_the_deletion_lets_go_too(monkeypatch):
    monkeypatch.setattr(retention, "UNLINK_ROWS", 2)
    old = _campaign_with_rows(status="completed", finished_days_ago=200)
    ids = list(Delivery.objects.filter(campaign=old).values_list("pk", flat=True))
    linked = DeliveryEvent.objects.filter(delivery_id__in=ids)
    before = linked.count()
    events = DeliveryEvent.objects.filter(campaign=old).count()

    # A transaction that only let go of two events committed (the process could die here: the
    # deliveries stay, two events fewer point at them).
    assert retention._rows_remove_step(Delivery, ids) is None
    assert Delivery.objects.filter(pk__in=ids).count() == len(ids)
    assert linked.count() == before - 2
    # SMS linking points one of them at its delivery again meanwhile.
    again = DeliveryEvent.objects.filter(campaign=old, delivery__isnull=True, type="sms_sent")
    again.filter(pk=again.values("pk")[:1]).update(delivery_id=ids[0])

    assert retention.rows_remove(Delivery, ids) == len(ids)

    assert not linked.exists()
    assert DeliveryEvent.objects.filter(campaign=old).count() == events
