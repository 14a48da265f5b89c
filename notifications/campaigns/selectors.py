"""Reads of a campaign's progress and numbers, for lists, the desk and the API.

Pages that must stay fast on campaigns of a million deliveries read the per-status counters
(`DeliveryCounter`) instead of counting deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from notifications.content.rendering import template_fields
from notifications.models import (
    AudienceMember,
    Campaign,
    Delivery,
    DeliveryCounter,
    DeliveryEvent,
)


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


def campaigns_audience_sizes(*, campaign_ids: Iterable[int]) -> dict[int, int]:
    """Members of each campaign's audiences, for many campaigns in one query.

    For a list page: a person in two audiences of one campaign counts twice here, which saves
    the sort that counting distinct people needs (half a second at a million members). The
    campaign page's send plan counts each person once.
    """
    sizes = dict.fromkeys(campaign_ids, 0)
    sizes.update(
        AudienceMember.objects.filter(audience__campaigns__in=list(sizes))
        .values("audience__campaigns")
        .annotate(n=Count("*"))
        .values_list("audience__campaigns", "n")
    )
    return sizes


def campaigns_sms_clicks(*, campaign_ids: Iterable[int]) -> dict[int, int]:
    """Distinct SMS clicked per campaign (one grouped query over the (campaign, type) index)."""
    ids = list(campaign_ids)
    clicks = dict.fromkeys(ids, 0)
    clicks.update(
        DeliveryEvent.objects.filter(
            campaign_id__in=ids, type=DeliveryEvent.Type.SMS_CLICK, sms_id__isnull=False
        )
        .values("campaign_id")
        .annotate(n=Count("sms_id", distinct=True))
        .values_list("campaign_id", "n")
    )
    return clicks


OUTCOME_EVENTS = (DeliveryEvent.Type.SENT, DeliveryEvent.Type.FAILED, DeliveryEvent.Type.UNKNOWN)


RATE_WINDOW_SECONDS = 60


def campaign_recent_rate(*, campaign_id: int, now: datetime | None = None) -> float:
    """Deliveries resolved (sent, failed or unknown) per minute over the last minute.

    A range scan of the (campaign, occurred_at) index: at most a minute of events.
    """
    now = now or timezone.now()
    resolved = DeliveryEvent.objects.filter(
        campaign_id=campaign_id,
        occurred_at__gt=now - timedelta(seconds=RATE_WINDOW_SECONDS),
        occurred_at__lte=now,
        type__in=OUTCOME_EVENTS,
    ).count()
    return resolved * 60 / RATE_WINDOW_SECONDS


def campaign_message(campaign: Campaign) -> dict[str, str]:
    """The campaign's message: frozen at dispatch, or its template's fields while a draft."""
    if campaign.content:
        return dict(campaign.content)
    return template_fields(campaign.template) if campaign.template else {}
