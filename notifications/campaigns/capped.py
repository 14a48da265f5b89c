"""What the pages read of the frequency caps (`caps.py` applies them): before dispatch, who of
the reachable a cap holds now (`recipients_capped`, kept with a draft's people counts for the
send plan and its estimate); once sent, the deliveries whose row says a cap deferred or skipped
them (`campaign_capped_deliveries`, `CAPPED_DEFERRED`, `CAPPED_SKIPPED`), for the desk, the
delivery list's filters and the stats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from notifications.campaigns.caps import COUNTING, caps_for, counts_against_caps
from notifications.models import Campaign, CountedSend, Delivery, Recipient

Status = Delivery.Status


@dataclass(frozen=True)
class CapForecast:
    """Who of a campaign's recipients is at a cap now (`recipients_capped`): how many, and
    the earliest and latest moments every cap allows one of them again. `policies` is how
    many active policies apply to the campaign: none when its caps are off or there are
    none on its channel, and then nobody is capped."""

    count: int
    policies: int = 0
    first_allowed: datetime | None = None
    last_allowed: datetime | None = None


NOBODY_CAPPED = CapForecast(0)


def recipients_capped(
    recipients: QuerySet[Recipient], campaign: Campaign, now: datetime
) -> CapForecast:
    """Who of `recipients` a message of `campaign` would find at a cap at `now`, as the send
    path decides (`cap_verdict` over `sends_counted`), counted without reading anyone's
    messages into Python.

    One query per policy: the `limit`-th newest counted send of each recipient within the
    period (a window function). A recipient who has one is at that cap, and it allows them
    again when that send ages out (the `cap_verdict` moment); under several caps, the latest
    of those moments.
    """
    if not counts_against_caps(campaign) or not campaign.caps_on:
        return NOBODY_CAPPED
    return recipients_at_caps(recipients, campaign.channel, now)


def capped_of(campaign: Campaign, forecast: CapForecast) -> CapForecast:
    """`forecast` (`recipients_at_caps`, kept with a draft's people counts) as it applies to
    `campaign`: nobody when its messages are not capped."""
    if not counts_against_caps(campaign) or not campaign.caps_on:
        return NOBODY_CAPPED
    return forecast


def recipients_at_caps(recipients: QuerySet[Recipient], channel: str, now: datetime) -> CapForecast:
    """`recipients_capped` for a marketing message on `channel` with its caps on."""
    caps = caps_for(channel)
    if not caps:
        return NOBODY_CAPPED
    allowed: dict[int, datetime] = {}
    for cap in caps:
        sends = CountedSend.objects.filter(
            COUNTING,
            recipient_id__in=recipients.order_by().values("pk"),
            sent_at__gt=now - cap.period,
        )
        if cap.channel:
            sends = sends.filter(channel=cap.channel)
        nth_newest = sends.annotate(
            newest=Window(RowNumber(), partition_by=F("recipient_id"), order_by=F("sent_at").desc())
        ).filter(newest=cap.limit)
        for recipient_id, sent_at in nth_newest.values_list("recipient_id", "sent_at"):
            at = sent_at + cap.period
            allowed[recipient_id] = max(at, allowed.get(recipient_id, at))
    if not allowed:
        return CapForecast(0, len(caps))
    return CapForecast(len(allowed), len(caps), min(allowed.values()), max(allowed.values()))


# Deliveries of a campaign a cap held back, by the reason their row says: pending until the
# caps allow them, or skipped. The desk's numbers, the delivery list's filters and the stats
# all read these, so each number is the count of the rows its link opens.
CAPPED_DEFERRED = Q(status=Status.PENDING, error__startswith="@capped_deferred")
CAPPED_SKIPPED = Q(status=Status.SKIPPED, error__startswith="@capped_skipped")


@dataclass(frozen=True)
class CappedDeliveries:
    """A campaign's deliveries a frequency cap holds back now (`deferred`, pending, the last
    of them due at `deferred_until`) or skipped."""

    deferred: int
    skipped: int
    deferred_until: datetime | None = None


def campaign_capped_deliveries(*, campaign_id: int) -> CappedDeliveries:
    """`CappedDeliveries` of a campaign: one aggregate over its deliveries."""
    counts = Delivery.objects.filter(campaign_id=campaign_id).aggregate(
        deferred=Count("pk", filter=CAPPED_DEFERRED),
        skipped=Count("pk", filter=CAPPED_SKIPPED),
        until=Max("next_attempt_at", filter=CAPPED_DEFERRED),
    )
    return CappedDeliveries(counts["deferred"], counts["skipped"], counts["until"])
