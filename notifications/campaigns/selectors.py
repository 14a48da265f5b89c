"""Reads of a campaign's progress and numbers, for lists, the desk and the API.

Pages that must stay fast on campaigns of a million deliveries read the per-status counters
(`DeliveryCounter`) instead of counting deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from notifications.audiences.query import audiences_q
from notifications.content.rendering import template_fields
from notifications.models import (
    Audience,
    Campaign,
    Delivery,
    DeliveryCounter,
    DeliveryEvent,
    Recipient,
)

from .kept import campaigns_kept


def _progress_from(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    counts = dict.fromkeys(Delivery.Status.values, 0)
    for status, count in rows:
        counts[status] = count
    counts["total"] = sum(counts[status] for status in Delivery.Status.values)
    counts["done"] = counts["total"] - counts["pending"] - counts["sending"]
    return counts


def campaign_progress(*, campaign_id: int) -> dict[str, int]:
    """Deliveries of a campaign by status, plus `total` and `done`: a few rows at any size."""
    return _progress_from(
        DeliveryCounter.objects.filter(campaign_id=campaign_id).values_list("status", "count")
    )


def campaigns_progress(*, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """`campaign_progress` for many campaigns (a page of the list) in one query."""
    rows: dict[int, list[tuple[str, int]]] = defaultdict(list)
    ids = list(campaign_ids)
    for campaign_id, status, count in DeliveryCounter.objects.filter(
        campaign_id__in=ids
    ).values_list("campaign_id", "status", "count"):
        rows[campaign_id].append((status, count))
    return {campaign_id: _progress_from(rows[campaign_id]) for campaign_id in ids}


def campaign_people(campaign: Campaign) -> QuerySet[Recipient]:
    """The recipients in any of a campaign's audiences (static lists and segments), each once:
    excluded ones included (`recipients_by_reach` tells them apart)."""
    return Recipient.objects.filter(audiences_q(campaign.audiences.all()))


@dataclass(frozen=True)
class PeopleSize:
    """How many people a draft is for, as a list shows it: exact (a static audience's kept
    size), or a count kept with its time (`counted_at`)."""

    count: int
    counted_at: datetime | None

    @property
    def exact(self) -> bool:
        return self.counted_at is None


def campaigns_people_sizes(*, campaigns: Iterable[Campaign]) -> dict[int, PeopleSize | None]:
    """People per draft for a page of the list, in two queries, never counting recipients.

    With one static audience and no exclusions that is the audience's kept size; otherwise the
    count kept by the send plan (`people.campaign_people_count`), None where there is none yet.
    """
    campaigns = list(campaigns)
    ids = [campaign.pk for campaign in campaigns]
    audiences: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for campaign_id, kind, size in Campaign.audiences.through.objects.filter(
        campaign_id__in=ids
    ).values_list("campaign_id", "audience__kind", "audience__size"):
        audiences[campaign_id].append((kind, size))
    excluding = set(
        Campaign.excluded_audiences.through.objects.filter(campaign_id__in=ids).values_list(
            "campaign_id", flat=True
        )
    )
    sizes: dict[int, PeopleSize | None] = {}
    for campaign in campaigns:
        only = audiences[campaign.pk]
        if len(only) == 1 and only[0][0] == Audience.Kind.STATIC and campaign.pk not in excluding:
            sizes[campaign.pk] = PeopleSize(only[0][1], None)
        elif campaign.people_counts and campaign.people_counted_at:
            sizes[campaign.pk] = PeopleSize(
                campaign.people_counts["people"], campaign.people_counted_at
            )
        else:
            sizes[campaign.pk] = None
    return sizes


def campaigns_sms_clicks(*, campaign_ids: Iterable[int]) -> dict[int, int]:
    """Distinct SMS clicked per campaign (one grouped query over the (campaign, type) index),
    or as kept for those whose events were removed (`kept.campaigns_kept`)."""
    ids = list(campaign_ids)
    kept = campaigns_kept(campaign_ids=ids)
    clicks = dict.fromkeys(ids, 0)
    clicks.update(
        DeliveryEvent.objects.filter(
            campaign_id__in=[i for i in ids if i not in kept],
            type=DeliveryEvent.Type.SMS_CLICK,
            sms_id__isnull=False,
        )
        .values("campaign_id")
        .annotate(n=Count("sms_id", distinct=True))
        .values_list("campaign_id", "n")
    )
    clicks.update((pk, summary.sms["clicked"]) for pk, summary in kept.items())
    return clicks


def campaign_follow_up_counts(*, campaign_id: int, progress: dict[str, int]) -> dict[str, int]:
    """How many recipients each follow-up outcome (`audiences.follow_up.Outcome`) holds, the
    people `follow_up_people` selects, without reading the campaign's deliveries: one delivery
    per recipient, so the counters `progress` count people by status; clicks are read from the
    (campaign, type) index, as many rows as there were clicks."""
    clickers = (
        DeliveryEvent.objects.filter(
            campaign_id=campaign_id, type=DeliveryEvent.Type.SMS_CLICK, recipient__isnull=False
        )
        .values("recipient_id")
        .distinct()
    )
    clicked = clickers.count()
    sent_and_clicked = 0
    if clicked:
        sent_and_clicked = Delivery.objects.filter(
            campaign_id=campaign_id, status=Delivery.Status.SENT, recipient_id__in=clickers
        ).count()
    return {
        "failed": progress["failed"],
        "skipped": progress["skipped"],
        "unknown": progress["unknown"],
        "sent": progress["sent"],
        "sent_not_clicked": progress["sent"] - sent_and_clicked,
        "clicked": clicked,
    }


OUTCOME_EVENTS = (DeliveryEvent.Type.SENT, DeliveryEvent.Type.FAILED, DeliveryEvent.Type.UNKNOWN)
# A message that went has no event of its own (its row's `sent_at` says when): what the history
# holds of outcomes is these.
LOGGED_OUTCOMES = (DeliveryEvent.Type.FAILED, DeliveryEvent.Type.UNKNOWN)


RATE_WINDOW_SECONDS = 60


def campaign_resolved_recently(
    *, campaign_id: int, seconds: float, now: datetime | None = None
) -> int:
    """Deliveries resolved (sent, failed or unknown) in the last `seconds`.

    Range scans of the (campaign, sent_at) and (campaign, occurred_at) indexes: at most that
    many seconds of sends and of events.
    """
    now = now or timezone.now()
    since = now - timedelta(seconds=seconds)
    sent = Delivery.objects.filter(
        campaign_id=campaign_id, sent_at__gt=since, sent_at__lte=now
    ).count()
    return sent + (
        DeliveryEvent.objects.filter(
            campaign_id=campaign_id,
            occurred_at__gt=since,
            occurred_at__lte=now,
            type__in=LOGGED_OUTCOMES,
        ).count()
    )


def campaign_resolved_since(*, campaign_id: int, since: datetime) -> tuple[int, datetime | None]:
    """Deliveries resolved (sent, failed or unknown) since `since`, and when the first of them
    was: the pace a campaign really goes at is that many over the time since that first one."""
    sent = Delivery.objects.filter(campaign_id=campaign_id, sent_at__gt=since).aggregate(
        n=Count("id"), first=Min("sent_at")
    )
    others = DeliveryEvent.objects.filter(
        campaign_id=campaign_id, occurred_at__gt=since, type__in=LOGGED_OUTCOMES
    ).aggregate(n=Count("id"), first=Min("occurred_at"))
    firsts = [at for at in (sent["first"], others["first"]) if at is not None]
    return sent["n"] + others["n"], min(firsts, default=None)


def campaign_recent_rate(*, campaign_id: int, now: datetime | None = None) -> float:
    """Deliveries resolved (sent, failed or unknown) per minute over the last minute."""
    resolved = campaign_resolved_recently(
        campaign_id=campaign_id, seconds=RATE_WINDOW_SECONDS, now=now
    )
    return resolved * 60 / RATE_WINDOW_SECONDS


def campaign_in_flight(*, campaign_id: int) -> int:
    """Deliveries whose provider request has begun and has no answer yet: what "being sent"
    means. Claimed ones still waiting for a turn under the provider's limit are not among them.

    Reads the campaign's `sending` rows (the (campaign, status) index): at most what the
    workers have claimed.
    """
    return Delivery.objects.filter(
        campaign_id=campaign_id,
        status=Delivery.Status.SENDING,
        request_started_at__isnull=False,
    ).count()


def campaign_has_due(*, campaign_id: int, now: datetime | None = None) -> bool:
    """Whether any delivery may go now: claimed and waiting for its turn, or pending and due
    (not waiting for a later retry)."""
    now = now or timezone.now()
    claimed = Q(status=Delivery.Status.SENDING, request_started_at__isnull=True)
    due = Q(status=Delivery.Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return Delivery.objects.filter(claimed | due, campaign_id=campaign_id).exists()


def campaign_message(campaign: Campaign) -> dict[str, str]:
    """The campaign's message: frozen at dispatch, or its template's fields while a draft."""
    if campaign.content:
        return dict(campaign.content)
    return template_fields(campaign.template) if campaign.template else {}
