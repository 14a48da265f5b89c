"""Retention: what is older than the settings is removed by the tick, a batch at a time.

- A finished campaign (completed or cancelled) gets its `CampaignSummary` first, in the
  transaction that sets `details_removed_at` (its pages read the summary from then on, and the
  lifecycle refuses to retry or resend it), once it finished more than the shorter of
  `DELIVERIES_KEEP_DAYS` and `EVENTS_KEEP_DAYS` ago. Its deliveries go once it finished
  `DELIVERIES_KEEP_DAYS` ago, its events `EVENTS_KEEP_DAYS` ago, except its own status
  changes and frequency caps turned off or on (`DeliveryEvent.CAMPAIGN_HISTORY`): a few
  rows, its history. Running, paused and scheduled campaigns' rows are never
  read here, let alone locked.
- Events of no campaign (SMS callbacks never linked), the SMS webhook inbox and django-q2's
  finished tasks go by their own age.

Each statement removes at most `BATCH_ROWS` rows named by id, so no transaction holds locks for
long, and `retention_purge` stops after `BUDGET_SECONDS`: the next tick goes on. Each kind
gets a batch in turn, so a large campaign does not hold back the inbox. A campaign's events go
before its deliveries when both are due, so that no event is left pointing at a delivery that
goes: letting go is a new version of the row with an entry in most of its table's indexes,
dearer than deleting it, and the row would go a moment later.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q

from notifications.campaigns.capped import campaign_capped_deliveries
from notifications.campaigns.report import campaign_link_clicks
from notifications.campaigns.sms import campaign_sms_stats
from notifications.campaigns.timeline import TIMELINE_TYPES, event_buckets_count, timeline_unit
from notifications.models import Campaign, CampaignSummary, Delivery, DeliveryEvent
from notifications.sending.claims import commit_without_flush

# Rows per statement and transaction. A deleted row's foreign keys are checked when its
# transaction commits (one lookup per row and key pointing at it), so a transaction's locks are
# held about as long as its rows: 5,000 held them 0.56 s at the median and 1.9 s at the
# longest beside a sender on a two-CPU machine at a load of 7 (the retention benchmark,
# 2026-12-07). The test and the benchmark measure it.
BATCH_ROWS = 1000
# Rows that let go of what they point at (because it goes) per transaction: each is a new
# version of the row with an entry in most of its indexes (an event has eleven), where a
# deletion adds to none. Letting go of a batch's 10,000 events in one statement took up to
# 0.9 s in the retention benchmark of 2026-12-07.
UNLINK_ROWS = 1000
# A tick's share of retention work; what is left waits for the next tick.
BUDGET_SECONDS = 5.0

FINISHED = (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED)
UNITS = ("minute", "hour", "day")


def retention_purge(*, now: datetime) -> dict[str, int]:
    """Remove a batch of each kind in turn, round after round, until nothing is due or the
    budget is spent (a round takes a batch of each kind, so it may overrun by that much); how
    many campaigns were summarised and rows removed, by kind."""
    deadline = time.monotonic() + BUDGET_SECONDS
    steps: dict[str, Callable[[datetime], int]] = {
        "campaigns_summarised": _summarise_next,
        "campaign_events": _campaign_events_batch,
        "deliveries": _deliveries_batch,
        "unlinked_events": _unlinked_events_batch,
        "inbound_webhooks": _inbox_batch,
        "tasks": _tasks_batch,
    }
    done: Counter[str] = Counter()
    # At least one round, a batch of each kind, however small the budget.
    while steps:
        for name, step in list(steps.items()):
            removed = step(now)
            done[name] += removed
            if not removed:
                del steps[name]
        if time.monotonic() >= deadline:
            break
    return dict(done)


def _before(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def _details_days() -> int | None:
    kept = [d for d in (settings.DELIVERIES_KEEP_DAYS, settings.EVENTS_KEEP_DAYS) if d]
    return min(kept, default=None)


def _summarise_next(now: datetime) -> int:
    """Keep the summary of the finished campaign longest due; 1 if there was one."""
    days = _details_days()
    if days is None:
        return 0
    due = Campaign.objects.filter(
        status__in=FINISHED, details_removed_at__isnull=True, finished_at__lt=now - timedelta(days)
    )
    campaign_id = due.order_by("finished_at", "pk").values_list("pk", flat=True).first()
    if campaign_id is None:
        return 0
    with transaction.atomic():
        # Locked and checked again: a retry may have reopened it since it was read.
        campaign = due.select_for_update(no_key=True).filter(pk=campaign_id).first()
        if campaign is None:
            return 1
        CampaignSummary.objects.create(
            campaign=campaign,
            kept_days=days,
            **campaign_summary_count(campaign),
        )
        campaign.details_removed_at = now
        campaign.save(update_fields=["details_removed_at", "updated_at"])
    return 1


def campaign_summary_count(campaign: Campaign) -> dict:
    """The fields of a `CampaignSummary` for `campaign`, counted from its rows: what the report,
    the timeline, the list's SMS clicks and the frequency-cap counts read from them."""
    sms = campaign_sms_stats(campaign_id=campaign.pk)
    start = campaign.started_at or campaign.dispatched_at or campaign.created_at
    end = campaign.finished_at or start
    own = timeline_unit(start, max(start, end))
    timeline = {}
    for unit in UNITS[UNITS.index(own) :]:
        buckets = event_buckets_count(campaign_id=campaign.pk, unit=unit, types=TIMELINE_TYPES)
        timeline[unit] = [
            [bucket.isoformat(), event_type, n]
            for bucket, by_type in sorted(buckets.items())
            for event_type, n in sorted(by_type.items())
        ]
    return {
        "sms": {"sent": sms.sent, "lost": sms.lost, "clicked": sms.clicked},
        "links": [
            [row.link, row.clickers, row.clicks]
            for row in campaign_link_clicks(campaign_id=campaign.pk)
        ],
        "capped_skipped": campaign_capped_deliveries(campaign_id=campaign.pk).skipped,
        "timeline": timeline,
    }


def _campaign_rows_batch(
    now: datetime,
    days: int | None,
    model: type[models.Model],
    flag: str,
    rows: Q,
    ready: Q,
    order: str,
) -> int:
    """A batch of `model` rows (`rows` of a campaign, first in `order`) of the summarised
    campaign longest finished more than `days` ago whose summary is `ready`; when it has none
    left, `flag` is set on its summary."""
    cutoff = _before(now, days)
    if cutoff is None:
        return 0
    due = CampaignSummary.objects.filter(
        ready,
        **{f"{flag}__isnull": True},
        campaign__finished_at__lt=cutoff,
    ).order_by("campaign__finished_at", "campaign_id")
    # A few at a time: each one found empty is flagged and not looked at again.
    for campaign_id in due.values_list("campaign_id", flat=True)[:10]:
        # In the order of an index that starts with the campaign, so that PostgreSQL reads
        # the campaign's rows only: in an event's own order (newest first) it walked every
        # newer event of every campaign back from the newest, and in no order it reads the
        # table from its start, through the rows earlier batches deleted.
        ids = list(
            model.objects.filter(rows, campaign_id=campaign_id)
            .order_by(order)
            .values_list("pk", flat=True)[:BATCH_ROWS]
        )
        if ids:
            return rows_remove(model, ids)
        CampaignSummary.objects.filter(campaign_id=campaign_id).update(**{flag: now})
    return 0


def _deliveries_batch(now: datetime) -> int:
    events_cutoff = _before(now, settings.EVENTS_KEEP_DAYS)
    # Where the campaign's events are due too, they go first: then no event points at its
    # deliveries when they go, and none has to be let go of (see the module's docstring).
    ready = (
        Q()
        if events_cutoff is None
        else Q(events_removed_at__isnull=False) | Q(campaign__finished_at__gte=events_cutoff)
    )
    return _campaign_rows_batch(
        now,
        settings.DELIVERIES_KEEP_DAYS,
        Delivery,
        "deliveries_removed_at",
        Q(),
        ready,
        # The index of the (campaign, recipient) constraint.
        "recipient_id",
    )


def _campaign_events_batch(now: datetime) -> int:
    return _campaign_rows_batch(
        now,
        settings.EVENTS_KEEP_DAYS,
        DeliveryEvent,
        "events_removed_at",
        ~Q(type__in=DeliveryEvent.CAMPAIGN_HISTORY),
        Q(),
        # The index `event_campaign_time`.
        "occurred_at",
    )


def _aged_batch(model: type[models.Model], rows: Q, cutoff: datetime | None) -> int:
    if cutoff is None:
        return 0
    ids = list(model.objects.filter(rows).values_list("pk", flat=True)[:BATCH_ROWS])
    return rows_remove(model, ids) if ids else 0


def _unlinked_events_batch(now: datetime) -> int:
    cutoff = _before(now, settings.EVENTS_KEEP_DAYS)
    # The condition of the partial index `event_unlinked_age`.
    rows = Q(campaign__isnull=True, created_at__lt=cutoff)
    return _aged_batch(DeliveryEvent, rows, cutoff)


def _inbox_batch(now: datetime) -> int:
    # Named by its label: the webhooks app depends on this one, not the other way round.
    inbound = apps.get_model("webhooks", "InboundWebhook")
    cutoff = _before(now, settings.WEBHOOK_INBOX_KEEP_DAYS)
    return _aged_batch(inbound, Q(received_at__lt=cutoff), cutoff)


def _tasks_batch(now: datetime) -> int:
    task = apps.get_model("django_q", "Task")
    cutoff = _before(now, settings.TASKS_KEEP_DAYS)
    return _aged_batch(task, Q(stopped__lt=cutoff), cutoff)


def rows_remove(model: type[models.Model], ids: Sequence) -> int:
    """Delete `model`'s rows `ids`, first letting go of or deleting what refers to them; how
    many went.

    Rows that point at them through a SET_NULL key let go `UNLINK_ROWS` at a time, a
    transaction each, while there are that many; the transaction that finds fewer lets go of
    those, deletes what points at them through a CASCADE key and then the rows themselves in one
    statement (the ORM's delete would first read them all, then delete a hundred at a time).
    A crash between those transactions leaves rows that let go of rows still there: what the
    last one would have made of them anyway, and the next tick removes the rest. Readers see
    no half state that matters: a campaign's pages read its summary before its first row goes.
    """
    while (removed := _rows_remove_step(model, ids)) is None:
        pass
    return removed


def _rows_remove_step(model: type[models.Model], ids: Sequence) -> int | None:
    """One transaction of `rows_remove`: the rows' count once they went, None if it only let go
    of `UNLINK_ROWS` rows pointing at them (there may be more)."""
    # Hidden ones too: a key with related_name="+" (a counted send's) still refers to them.
    relations = [
        field
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    ]
    with transaction.atomic():
        # A crash may lose the last of these commits: the rows are back, and the next tick
        # removes them again. The write-ahead log keeps its order, so no later write (a summary
        # saying the rows are gone) survives one lost before it.
        commit_without_flush()
        for relation in relations:
            if relation.on_delete is models.SET_NULL:
                manager = relation.related_model._base_manager
                pointing = manager.filter(**{f"{relation.field.name}__in": ids}).order_by()
                some = pointing.values("pk")[:UNLINK_ROWS]
                if manager.filter(pk__in=some).update(**{relation.field.name: None}) == UNLINK_ROWS:
                    return None
            elif relation.on_delete is not models.CASCADE:
                raise NotImplementedError(f"{relation} cannot be removed by retention")
        for relation in relations:
            if relation.on_delete is models.CASCADE:
                relation.related_model._base_manager.filter(
                    **{f"{relation.field.name}__in": ids}
                ).delete()
        quote = connection.ops.quote_name
        marks = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} "  # noqa: S608
                f"WHERE {quote(model._meta.pk.column)} IN ({marks})",
                list(ids),
            )
            return cursor.rowcount
