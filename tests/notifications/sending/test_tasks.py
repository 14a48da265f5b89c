"""The django-q2 side: the tick's safety net, the schedule, and the tasks' time budget."""

import importlib
import pydoc
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from notifications.audiences.services import audience_save
from notifications.campaigns.materialise import campaign_materialise
from notifications.models import Audience, Campaign, Delivery
from notifications.sending import wake
from notifications.sending.tasks import (
    DRAFTS_PER_TICK,
    SEGMENTS_PER_TICK,
    send_budget_seconds,
    send_campaign,
    tick,
)
from tests.factories import make_audience, make_campaign, make_recipient

pytestmark = pytest.mark.django_db


def queued(callbacks, monkeypatch) -> list:
    """The tasks enqueued by the captured on-commit callbacks, as (function, args, kwargs)."""
    sent = []
    monkeypatch.setattr(
        wake, "async_task", lambda func, *args, **kwargs: sent.append((func, args, kwargs))
    )
    for callback in callbacks:
        callback()
    return sent


def test_the_migrations_schedule_the_tick_every_minute():
    tick_schedule = Schedule.objects.get(name="vestnik-tick")
    assert (tick_schedule.func, tick_schedule.schedule_type, tick_schedule.minutes) == (
        "notifications.sending.tasks.tick",
        Schedule.MINUTES,
        1,
    )
    assert pydoc.locate(tick_schedule.func) is tick


@pytest.mark.parametrize(
    ("direction", "before", "after"),
    [
        ("forwards", "notifications.tasks.tick", "notifications.sending.tasks.tick"),
        ("backwards", "notifications.sending.tasks.tick", "notifications.tasks.tick"),
    ],
)
def test_the_tick_schedule_migration_points_the_schedule_at_the_ticks_module(
    direction, before, after
):
    migration = importlib.import_module("notifications.migrations.0011_tick_schedule_path")
    Schedule.objects.filter(name="vestnik-tick").update(func=before)
    getattr(migration, direction)(django_apps, None)
    assert Schedule.objects.get(name="vestnik-tick").func == after


def test_a_send_task_stops_well_within_django_q2s_timeout():
    budget = send_budget_seconds()
    assert budget + settings.PROVIDER_READ_TIMEOUT < settings.Q_CLUSTER["timeout"]
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]


def test_the_tick_wakes_a_running_campaign_that_no_worker_is_sending(
    django_capture_on_commit_callbacks, monkeypatch
):
    campaign = make_campaign(
        status=Campaign.Status.RUNNING,
        materialised_at=timezone.now(),
        worker_seen_at=timezone.now() - timedelta(minutes=10),
    )
    Delivery.objects.create(campaign=campaign, recipient=make_recipient())
    with django_capture_on_commit_callbacks() as callbacks:
        result = tick()
    assert result["woken"] == [campaign.pk]
    assert queued(callbacks, monkeypatch) == [(send_campaign, (campaign.pk,), {})] * 2


def test_the_tick_leaves_a_campaign_alone_while_its_worker_is_alive(
    django_capture_on_commit_callbacks,
):
    campaign = make_campaign(
        status=Campaign.Status.RUNNING,
        materialised_at=timezone.now(),
        worker_seen_at=timezone.now(),
    )
    Delivery.objects.create(campaign=campaign, recipient=make_recipient())
    with django_capture_on_commit_callbacks() as callbacks:
        assert tick()["woken"] == []
    assert callbacks == []


def test_the_tick_does_not_wake_a_campaign_whose_retries_are_not_due(
    django_capture_on_commit_callbacks,
):
    campaign = make_campaign(status=Campaign.Status.RUNNING, materialised_at=timezone.now())
    Delivery.objects.create(
        campaign=campaign,
        recipient=make_recipient(),
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    with django_capture_on_commit_callbacks():
        result = tick()
    assert result["woken"] == []
    assert result["completed"] == []


def test_the_tick_restarts_an_unfinished_materialisation(
    django_capture_on_commit_callbacks, monkeypatch
):
    campaign = make_campaign(make_audience(make_recipient()), status=Campaign.Status.RUNNING)
    with django_capture_on_commit_callbacks() as callbacks:
        tick()
    assert queued(callbacks, monkeypatch) == [
        (campaign_materialise, (), {"campaign_id": campaign.pk})
    ]


def test_the_tick_starts_due_campaigns_and_completes_finished_ones(
    django_capture_on_commit_callbacks,
):
    due = make_campaign(
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(seconds=1),
        materialised_at=timezone.now(),
    )
    finished = make_campaign(status=Campaign.Status.RUNNING, materialised_at=timezone.now())
    Delivery.objects.create(campaign=finished, recipient=make_recipient(), status="sent")
    with django_capture_on_commit_callbacks():
        result = tick()
    assert result["started"] == [due.pk]
    assert finished.pk in result["completed"]
    finished.refresh_from_db()
    assert finished.status == Campaign.Status.COMPLETED


def test_the_tick_forgets_idempotency_answers_older_than_the_replay_window(settings):
    from notifications.models import IdempotencyRecord

    settings.API_IDEMPOTENCY_HOURS = 24
    old = IdempotencyRecord.objects.create(owner="key:1", key="a", fingerprint="f" * 64)
    fresh = IdempotencyRecord.objects.create(owner="key:1", key="b", fingerprint="f" * 64)
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    result = tick()

    assert result["idempotency_records_purged"] == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_a_sender_with_only_later_retries_left_lets_the_next_tick_wake_one_when_due(
    settings, django_capture_on_commit_callbacks
):
    settings.LEADCONVERTER_TOKEN = "lc-token"
    campaign = make_campaign(
        channel="leadconverter",
        status=Campaign.Status.RUNNING,
        materialised_at=timezone.now(),
        worker_seen_at=timezone.now(),
    )
    retry = Delivery.objects.create(
        campaign=campaign,
        recipient=make_recipient(),
        address="100",
        next_attempt_at=timezone.now() + timedelta(seconds=30),
    )

    assert send_campaign(campaign.pk) == "nothing is due"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.worker_seen_at is None

    Delivery.objects.filter(pk=retry.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks():
        assert tick()["woken"] == [campaign.pk]


# --- Segment sizes kept recent for upcoming campaigns ----------------------------------------


def _segment(name, *, counted_minutes_ago):
    segment = audience_save(
        audience=None,
        data={
            "name": name,
            "kind": "segment",
            "rules": {"match": "all", "rules": [{"field": "opted_out", "op": "is_false"}]},
        },
    )
    counted_at = None
    if counted_minutes_ago is not None:
        counted_at = timezone.now() - timedelta(minutes=counted_minutes_ago)
    Audience.objects.filter(pk=segment.pk).update(size=0, size_counted_at=counted_at)
    return segment


def test_the_tick_counts_again_the_stale_segments_of_draft_and_scheduled_campaigns():
    make_recipient()
    draft = _segment("Draft's", counted_minutes_ago=11)
    excluded = _segment("Excluded by a scheduled one", counted_minutes_ago=30)
    make_campaign(draft)
    make_campaign(make_audience(), status=Campaign.Status.SCHEDULED).excluded_audiences.set(
        [excluded]
    )
    counted = tick()["segments_counted"]
    assert counted == [excluded.pk, draft.pk]  # the oldest first
    assert list(Audience.objects.filter(pk__in=counted).values_list("size", flat=True)) == [1, 1]


def test_the_tick_leaves_recent_segments_and_those_of_sent_campaigns_alone():
    make_campaign(_segment("Recent", counted_minutes_ago=9))
    make_campaign(_segment("Sent", counted_minutes_ago=60), status=Campaign.Status.COMPLETED)
    assert tick()["segments_counted"] == []


def test_the_tick_counts_a_few_segments_at_a_time_never_counted_ones_first():
    old = [_segment(f"Old {n}", counted_minutes_ago=20 + n) for n in range(SEGMENTS_PER_TICK)]
    never = _segment("Never", counted_minutes_ago=None)
    make_campaign(*old, never)
    counted = tick()["segments_counted"]
    assert counted == [never.pk, *[s.pk for s in reversed(old)]][:SEGMENTS_PER_TICK]


# --- People counts kept recent for upcoming campaigns ----------------------------------------


def _counted(campaign, *, minutes_ago):
    counted_at = None if minutes_ago is None else timezone.now() - timedelta(minutes=minutes_ago)
    Campaign.objects.filter(pk=campaign.pk).update(
        people_counts={
            "channel": campaign.channel,
            "people": 0,
            "excluded": 0,
            "opted_out": 0,
            "no_address": 0,
        },
        people_counted_at=counted_at,
    )
    return campaign


def test_the_tick_counts_again_the_people_of_stale_drafts_never_counted_first():
    everyone = make_audience(make_recipient(), make_recipient())
    stale = _counted(make_campaign(everyone), minutes_ago=30)
    never = _counted(make_campaign(everyone, status=Campaign.Status.SCHEDULED), minutes_ago=None)
    _counted(make_campaign(everyone), minutes_ago=1)  # recent
    _counted(make_campaign(everyone, status=Campaign.Status.COMPLETED), minutes_ago=60)
    assert tick()["drafts_counted"] == [never.pk, stale.pk]
    counts = Campaign.objects.get(pk=stale.pk).people_counts
    assert counts["people"] == 2
    assert tick()["drafts_counted"] == []


def test_the_tick_counts_a_few_drafts_at_a_time():
    audience = make_audience(make_recipient())
    drafts = [_counted(make_campaign(audience), minutes_ago=20 + n) for n in range(5)]
    assert tick()["drafts_counted"] == [d.pk for d in reversed(drafts)][:DRAFTS_PER_TICK]
