"""SMS callbacks in the domain: linking them to recipients, campaigns and deliveries; their stats.

Sendios tells us who an SMS went to (`client_user_id`, our recipient's `external_id`) and which
project and template sent it. A campaign configured with that project and template owns the
SMS if it was running at the callback's time; failing that, the latest one started (or
dispatched) before it does. The same rule is applied twice: in Python for a body being ingested
(`sms_links_find`, one query per kind for the whole body) and in SQL for events that arrived
before their recipient or campaign existed (`sms_events_link_pending`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from notifications.models import Campaign, Delivery, DeliveryEvent, Recipient

SMS_EVENT_TYPES = (
    DeliveryEvent.Type.SMS_SENT,
    DeliveryEvent.Type.SMS_LOST,
    DeliveryEvent.Type.SMS_CLICK,
)

# Keeps every IN list under SQLite's historical limit of 999 parameters.
LOOKUP_CHUNK = 400


@dataclass(frozen=True)
class SmsOrigin:
    """Who an SMS callback is about and what sent it, in Sendios' terms."""

    client_user_id: str | None
    project_id: int | None
    template_id: int | None
    occurred_at: datetime


@dataclass(frozen=True)
class SmsLink:
    """The rows an SMS callback belongs to, where they exist."""

    recipient_id: int | None = None
    campaign_id: int | None = None
    delivery_id: int | None = None


@dataclass(frozen=True)
class _CampaignWindow:
    id: int
    started_at: datetime | None
    finished_at: datetime | None
    dispatched_at: datetime | None

    @property
    def start(self) -> datetime | None:
        return self.started_at or self.dispatched_at

    def running_at(self, moment: datetime) -> bool:
        return (
            self.started_at is not None
            and self.started_at <= moment
            and (self.finished_at is None or moment <= self.finished_at)
        )


def sms_links_find(*, origins: Sequence[SmsOrigin]) -> list[SmsLink]:
    """The recipient, campaign and delivery of each origin, in order; None where unknown.

    At most one query each for recipients, campaigns and deliveries per 400 distinct values.
    """
    recipients = _recipients_by_external_id({o.client_user_id for o in origins} - {None})
    windows = _campaign_windows(
        {
            (o.project_id, o.template_id)
            for o in origins
            if o.project_id is not None and o.template_id is not None
        }
    )
    partial = []
    for origin in origins:
        candidates = windows.get((origin.project_id, origin.template_id), ())
        partial.append(
            (
                recipients.get(origin.client_user_id) if origin.client_user_id else None,
                _campaign_at(candidates, origin.occurred_at),
            )
        )
    deliveries = _deliveries(
        {
            (campaign_id, recipient_id)
            for recipient_id, campaign_id in partial
            if recipient_id is not None and campaign_id is not None
        }
    )
    return [
        SmsLink(recipient_id, campaign_id, deliveries.get((campaign_id, recipient_id)))
        for recipient_id, campaign_id in partial
    ]


def _campaign_at(candidates: Iterable[_CampaignWindow], moment: datetime) -> int | None:
    running = [c for c in candidates if c.running_at(moment)]
    if running:
        return max(running, key=lambda c: (c.start, c.id)).id
    before = [c for c in candidates if c.start is not None and c.start <= moment]
    if before:
        return max(before, key=lambda c: (c.start, c.id)).id
    return None


def _recipients_by_external_id(external_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(external_ids)):
        found.update(
            Recipient.objects.filter(external_id__in=chunk).values_list("external_id", "pk")
        )
    return found


def _campaign_windows(
    pairs: set[tuple[int, int]],
) -> dict[tuple[int, int], list[_CampaignWindow]]:
    windows: dict[tuple[int, int], list[_CampaignWindow]] = defaultdict(list)
    for chunk in _chunks(sorted(pairs)):
        matching = reduce(or_, (Q(sendios_project_id=p, sendios_template_id=t) for p, t in chunk))
        rows = (
            Campaign.objects.filter(matching)
            .filter(Q(started_at__isnull=False) | Q(dispatched_at__isnull=False))
            .values_list(
                "pk",
                "sendios_project_id",
                "sendios_template_id",
                "started_at",
                "finished_at",
                "dispatched_at",
            )
        )
        for pk, project_id, template_id, started_at, finished_at, dispatched_at in rows:
            windows[(project_id, template_id)].append(
                _CampaignWindow(pk, started_at, finished_at, dispatched_at)
            )
    return windows


def _deliveries(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    found: dict[tuple[int, int], int] = {}
    for chunk in _chunks(sorted(pairs)):
        rows = Delivery.objects.filter(
            campaign_id__in={c for c, _ in chunk}, recipient_id__in={r for _, r in chunk}
        ).values_list("campaign_id", "recipient_id", "pk")
        # The IN lists cross every campaign with every recipient: keep only the pairs asked.
        found.update(((c, r), pk) for c, r, pk in rows if (c, r) in pairs)
    return found


def _chunks(values: Sequence, size: int = LOOKUP_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def sms_events_link_pending(
    *, recipient_ids: Iterable[int] | None = None, campaign_ids: Iterable[int] | None = None
) -> int:
    """Link SMS events that arrived before their recipient, campaign or delivery existed.

    With neither argument every unlinked SMS event is considered. `recipient_ids` (after an
    import or a save of recipients) links only those recipients' events; `campaign_ids` (after a
    campaign's Sendios ids, start or deliveries changed) links only the events whose project and
    template are those campaigns'. Events already linked are never moved. Returns how many
    links were made: an event that gains both a recipient and a campaign counts twice.
    """
    recipient_ids = None if recipient_ids is None else list(recipient_ids)
    campaign_ids = None if campaign_ids is None else list(campaign_ids)
    links = 0
    with transaction.atomic():
        if recipient_ids is not None or campaign_ids is None:
            links += _link_recipients(recipient_ids)
        if campaign_ids is not None or recipient_ids is None:
            links += _link_campaigns(campaign_ids)
        links += _link_deliveries(recipient_ids, campaign_ids)
    return links


def _link_recipients(recipient_ids: list[int] | None) -> int:
    # The same condition as the partial index `event_unlinked_recipient`, so it is used.
    pending = DeliveryEvent.objects.filter(
        recipient__isnull=True, type__in=SMS_EVENT_TYPES
    ).exclude(sendios_user_id="")
    if recipient_ids is not None:
        pending = pending.filter(
            sendios_user_id__in=Recipient.objects.filter(pk__in=recipient_ids).values("external_id")
        )
    recipient = Recipient.objects.filter(external_id=OuterRef("sendios_user_id")).order_by()
    return pending.filter(Exists(recipient)).update(
        recipient_id=Subquery(recipient.values("pk")[:1])
    )


def _link_campaigns(campaign_ids: list[int] | None) -> int:
    # The same condition as the partial index `event_unlinked_campaign`, so it is used.
    pending = DeliveryEvent.objects.filter(
        campaign__isnull=True, sendios_project_id__isnull=False, type__in=SMS_EVENT_TYPES
    )
    if campaign_ids is not None:
        pending = pending.filter(
            Exists(
                Campaign.objects.filter(
                    pk__in=campaign_ids,
                    sendios_project_id=OuterRef("sendios_project_id"),
                    sendios_template_id=OuterRef("sendios_template_id"),
                )
            )
        )
    at = OuterRef("occurred_at")
    same_ids = Campaign.objects.filter(
        sendios_project_id=OuterRef("sendios_project_id"),
        sendios_template_id=OuterRef("sendios_template_id"),
    ).annotate(start=Coalesce("started_at", "dispatched_at"))
    # The rule of `_campaign_at`: running at the time first, else the latest start before it.
    # Two subqueries rather than one ordered by "running": SQLite cannot see the outer row
    # from a subquery's ORDER BY.
    running = same_ids.filter(
        Q(started_at__lte=at) & (Q(finished_at__isnull=True) | Q(finished_at__gte=at))
    ).order_by("-started_at", "-pk")
    started_before = same_ids.filter(start__lte=at).order_by("-start", "-pk")
    return pending.filter(Exists(started_before)).update(
        campaign_id=Coalesce(
            Subquery(running.values("pk")[:1]), Subquery(started_before.values("pk")[:1])
        )
    )


def _link_deliveries(recipient_ids: list[int] | None, campaign_ids: list[int] | None) -> int:
    pending = DeliveryEvent.objects.filter(
        delivery__isnull=True,
        campaign__isnull=False,
        recipient__isnull=False,
        type__in=SMS_EVENT_TYPES,
    )
    scope = Q()
    if recipient_ids is not None:
        scope |= Q(recipient_id__in=recipient_ids)
    if campaign_ids is not None:
        scope |= Q(campaign_id__in=campaign_ids)
    delivery = Delivery.objects.filter(
        campaign_id=OuterRef("campaign_id"), recipient_id=OuterRef("recipient_id")
    )
    return (
        pending.filter(scope)
        .filter(Exists(delivery))
        .update(delivery_id=Subquery(delivery.values("pk")[:1]))
    )


@dataclass(frozen=True)
class SmsStats:
    """What became of a campaign's SMS, counted per distinct `sms_id`.

    An `sms_id` with any `sms_lost` is lost, whatever order its events came in; an `sms_lost`
    or a click also proves the SMS was sent when its `sms_sent` has not arrived yet.
    `click_through_rate` is clicked / delivered, None when nothing was delivered.
    """

    sent: int
    lost: int
    delivered: int
    clicked: int
    click_through_rate: float | None

    @classmethod
    def of(cls, *, sent: int, lost: int, clicked: int) -> SmsStats:
        """The stats of SMS counted sent, lost and clicked; the rest follows from them."""
        delivered = sent - lost
        return cls(
            sent=sent,
            lost=lost,
            delivered=delivered,
            clicked=clicked,
            click_through_rate=clicked / delivered if delivered else None,
        )


def campaign_sms_stats(*, campaign_id: int) -> SmsStats:
    """SMS sent, lost, delivered and clicked for a campaign, counted from its events: one
    aggregate query (`report.campaign_report` reads what was kept once they are removed)."""
    totals = DeliveryEvent.objects.filter(
        campaign_id=campaign_id, type__in=SMS_EVENT_TYPES, sms_id__isnull=False
    ).aggregate(
        sent=Count("sms_id", distinct=True),
        lost=Count("sms_id", distinct=True, filter=Q(type=DeliveryEvent.Type.SMS_LOST)),
        clicked=Count("sms_id", distinct=True, filter=Q(type=DeliveryEvent.Type.SMS_CLICK)),
    )
    return SmsStats.of(**totals)
