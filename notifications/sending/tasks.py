"""The workers' entry points: the send task and the periodic tick. Every task is safe to run twice.

Ids in, a service call out. Materialising needs no wrapper: `campaign_materialise` itself is
the task.

Time: a task stops claiming work well before django-q2's `timeout` and enqueues its own
continuation, so a long campaign is many short tasks, not one endless one.
"""

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django_q.models import Schedule

from notifications.api.idempotency import idempotency_records_purge
from notifications.audiences.services import audience_size_count
from notifications.campaigns.caps import counted_sends_purge
from notifications.campaigns.lifecycle import (
    campaign_complete_if_done,
    campaign_pause,
    campaigns_start_due,
)
from notifications.campaigns.materialise import campaign_materialise
from notifications.campaigns.people import PEOPLE_COUNT_MAX_AGE, campaign_people_count
from notifications.errors import StateConflict
from notifications.exports.jobs import export_jobs_tidy
from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import build_provider
from notifications.reasons import reason_encode
from notifications.retention import retention_purge

from ..models import Audience, Campaign, Delivery
from .leases import campaigns_holding, deliveries_expire_leases, deliveries_expired
from .loop import campaign_send
from .wake import enqueue, enqueue_senders

logger = logging.getLogger(__name__)


# The django-q2 schedule that runs `tick` (created by the migrations).
TICK_SCHEDULE = "vestnik-tick"
# Kept free after a task's last request: recording its answer, and django-q2's own bookkeeping.
SEND_MARGIN_SECONDS = 15
# The least a send task is given, however small Q_TIMEOUT is (a system check warns then).
MIN_SEND_BUDGET_SECONDS = 5.0


def send_budget_unclamped() -> float:
    """django-q2's timeout less the slowest last request (connect and read) and the margin."""
    slowest_request = settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT
    return settings.Q_CLUSTER["timeout"] - slowest_request - SEND_MARGIN_SECONDS


def send_budget_seconds() -> float:
    """How long one send task may wait and start requests before it hands over."""
    return max(MIN_SEND_BUDGET_SECONDS, send_budget_unclamped())


def send_campaign(campaign_id: int) -> str:
    """Run the send loop for a running campaign, then hand over to a new task if work is left."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.RUNNING:
        return "not running"
    try:
        provider = build_provider(campaign.channel)
    except ProviderConfigurationError as exc:
        # Already paused or cancelled by someone else: nothing more to say.
        with contextlib.suppress(StateConflict):
            campaign_pause(
                campaign_id=campaign_id,
                reason=reason_encode(
                    "provider_configuration", channel=campaign.channel, error=str(exc)
                ),
                cause=Campaign.PauseCause.CONFIGURATION,
            )
        return "provider not configured"
    report = campaign_send(
        campaign_id=campaign_id, provider=provider, budget_seconds=send_budget_seconds()
    )
    if report.more_work:
        enqueue(send_campaign, campaign_id)
    elif report.stopped_because == "nothing is due" and not campaign_complete_if_done(
        campaign_id=campaign_id
    ):
        # Only retries not yet due are left: say no worker is on it, so the next tick wakes
        # one as soon as they are due, instead of after the stale-worker window as well.
        Campaign.objects.filter(pk=campaign_id, materialised_at__isnull=False).update(
            worker_seen_at=None
        )
    logger.info(
        "campaign %s: %s requests, %s; stopped: %s",
        campaign_id,
        report.requests,
        dict(report.outcomes),
        report.stopped_because,
    )
    return report.stopped_because


def tick() -> dict:
    """The periodic safety net: start due campaigns, resolve lost workers, resume stalled work,
    and keep the sizes of upcoming campaigns' segments and the people counts of their lists
    recent (`segments_recount`, `drafts_recount`).

    The queue may lose a task (the Redis broker drops one whose worker dies) or hold it back;
    this finds every running campaign with due work and no live worker, and wakes one up.
    """
    started = campaigns_start_due()
    now = timezone.now()
    # A claim that ran out means its worker died (a live one renews it), and so did the task,
    # which the Redis broker does not hand to anyone else: such a campaign needs new senders.
    orphaned = set(
        deliveries_expired(campaign_ids=campaigns_holding(), now=now)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    leases = deliveries_expire_leases()
    stale = now - timezone.timedelta(seconds=settings.VESTNIK_WORKER_STALE_SECONDS)
    due = Delivery.objects.filter(campaign=OuterRef("pk"), status=Delivery.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    running = Campaign.objects.filter(status=Campaign.Status.RUNNING).filter(
        Q(worker_seen_at__isnull=True) | Q(worker_seen_at__lt=stale) | Q(pk__in=orphaned)
    )
    woken = []
    for campaign in running.filter(materialised_at__isnull=True):
        enqueue(campaign_materialise, campaign_id=campaign.pk)
        woken.append(campaign.pk)
    with_due_work = running.filter(Exists(due), materialised_at__isnull=False)
    for campaign_id in with_due_work.values_list("pk", flat=True):
        enqueue_senders(campaign_id)
        woken.append(campaign_id)
    # Only campaigns with nothing open are worth a lock to complete them.
    open_work = Delivery.objects.filter(
        campaign=OuterRef("pk"), status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]
    )
    finished = Campaign.objects.filter(
        ~Exists(open_work), status=Campaign.Status.RUNNING, materialised_at__isnull=False
    )
    completed = [
        pk
        for pk in finished.values_list("pk", flat=True)
        if campaign_complete_if_done(campaign_id=pk)
    ]
    # django-q2 runs a schedule at most once a minute, but its scheduler looks every 30 s or so.
    # While claims are out, ask to run at its next look: when every sender of a campaign died,
    # their rows then wait a lease and half a minute at most, not a lease and a minute and a half.
    if Delivery.objects.filter(status=Delivery.Status.SENDING).exists():
        Schedule.objects.filter(name=TICK_SCHEDULE).update(next_run=now)
    # Answers kept for Idempotency-Key replays: nothing may replay them after the window.
    purged = idempotency_records_purge(older_than=timedelta(hours=settings.API_IDEMPOTENCY_HOURS))
    return {
        "started": started,
        "leases": leases,
        "woken": woken,
        "completed": completed,
        "idempotency_records_purged": purged,
        "segments_counted": segments_recount(now=now),
        "drafts_counted": drafts_recount(now=now),
        "exports": export_jobs_tidy(now=now),
        "counted_sends_purged": counted_sends_purge(now=now),
        "retention": retention_purge(now=now),
    }


# A segment's kept size older than this is counted again by the tick, while a draft or
# scheduled campaign uses it; a few each tick, oldest first, so one tick stays short (a
# segment of a million takes about a second to count).
SEGMENT_SIZE_MAX_AGE = timedelta(minutes=10)
SEGMENTS_PER_TICK = 3


def segments_recount(*, now: datetime) -> list[int]:
    """Count again the segments of upcoming campaigns (included or excluded) whose size is
    the oldest and older than `SEGMENT_SIZE_MAX_AGE`; their ids."""
    upcoming = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
    used = Q(campaigns__status__in=upcoming) | Q(excluding_campaigns__status__in=upcoming)
    stale = Q(size_counted_at__isnull=True) | Q(size_counted_at__lt=now - SEGMENT_SIZE_MAX_AGE)
    ids = list(
        Audience.objects.filter(used, stale, kind=Audience.Kind.SEGMENT)
        .order_by(F("size_counted_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)
        .distinct()[:SEGMENTS_PER_TICK]
    )
    for audience in Audience.objects.filter(pk__in=ids):
        audience_size_count(audience=audience)
    return ids


# Campaigns whose people are counted again per tick: a count reads the whole audience.
DRAFTS_PER_TICK = 3


def drafts_recount(*, now: datetime) -> list[int]:
    """Count again the people of draft and scheduled campaigns not materialised yet whose kept
    counts are the oldest and older than `PEOPLE_COUNT_MAX_AGE` (never counted first), so the
    campaign list shows recent ages; their ids."""
    stale = Q(people_counted_at__isnull=True) | Q(people_counted_at__lt=now - PEOPLE_COUNT_MAX_AGE)
    ids = list(
        Campaign.objects.filter(
            stale,
            kind=Campaign.Kind.CAMPAIGN,
            status__in=(Campaign.Status.DRAFT, Campaign.Status.SCHEDULED),
            materialised_at__isnull=True,
        )
        .order_by(F("people_counted_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:DRAFTS_PER_TICK]
    )
    for campaign in Campaign.objects.filter(pk__in=ids).order_by("pk"):
        campaign_people_count(campaign=campaign)
    return ids
