"""A campaign's report: its counts, the rates staff and integrations read, and clicks by link.

Each rate is a numerator and a denominator (`Rate`), so whoever shows it can also show what it
is a share of, and the ratio is computed in one place (`Rate.ratio`). The page and the API read
the same `campaign_report`.

Cheap at a million deliveries: delivery counts come from the per-status counters, SMS outcomes
from one aggregate over the campaign's SMS events, links from one grouped query over the
(campaign, type) index. Once retention removed a campaign's rows, its SMS outcomes and links
are read from the summary kept before (`kept.campaign_kept` says which); the counters stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from notifications.models import DeliveryEvent

from .kept import campaign_kept
from .selectors import campaign_progress
from .sms import SmsStats, campaign_sms_stats

NO_LINK = _("(no link)")


@dataclass(frozen=True)
class Rate:
    """`numerator` of `denominator`; `ratio` is None when there is nothing to divide by."""

    numerator: int
    denominator: int

    @property
    def ratio(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class LinkClicks:
    """Clicks on one link of a campaign's SMS: how many people clicked it, and how often.

    `link` is Sendios' value as stored ("" when the callback named none); `label` is what staff
    read.
    """

    link: str
    clickers: int
    clicks: int

    @property
    def label(self) -> str:
        return self.link or NO_LINK


@dataclass(frozen=True)
class CampaignReport:
    """A campaign's deliveries by status, its SMS outcomes, their rates and clicks by link.

    `reachable` is every delivery that was not skipped (excluded, opted out, no address): the
    messages the campaign meant to send, whether or not they went.
    """

    deliveries: dict[str, int]
    reachable: int
    sms: SmsStats
    rates: dict[str, Rate]
    links: list[LinkClicks]


# The rates of a report, in the order they are shown, with what staff read after the share.
RATE_LABELS = {
    "sent": _("of reachable"),
    "failed": _("of reachable"),
    "unknown": _("of reachable"),
    "sms_delivered": _("of SMS sent"),
    "sms_lost": _("of SMS sent"),
    "click_through": _("of delivered"),
}


def delivery_rates(deliveries: dict[str, int]) -> dict[str, Rate]:
    """Sent, failed and unknown of the reachable (every delivery not skipped), from a
    campaign's counts by status (`campaign_progress`): what the page refreshes as it polls."""
    reachable = deliveries["total"] - deliveries["skipped"]
    return {status: Rate(deliveries[status], reachable) for status in ("sent", "failed", "unknown")}


def campaign_report(*, campaign_id: int) -> CampaignReport:
    """A campaign's counts, rates and clicks by link.

    SMS are counted as `campaigns.sms.campaign_sms_stats` counts them, each `sms_id` once: a
    click proves its SMS was sent even when no `sms_sent` arrived, and such an SMS counts as
    delivered unless an `sms_lost` came for it. Click-through is SMS clicked of SMS delivered,
    so a click on an SMS reported lost counts in the clicks but not in the delivered.
    """
    deliveries = campaign_progress(campaign_id=campaign_id)
    reachable = deliveries["total"] - deliveries["skipped"]
    kept = campaign_kept(campaign_id=campaign_id)
    if kept is None:
        sms = campaign_sms_stats(campaign_id=campaign_id)
        links = campaign_link_clicks(campaign_id=campaign_id)
    else:
        sms = SmsStats.of(**kept.sms)
        links = [LinkClicks(link, clickers, clicks) for link, clickers, clicks in kept.links]
    rates = {
        **delivery_rates(deliveries),
        "sms_delivered": Rate(sms.delivered, sms.sent),
        "sms_lost": Rate(sms.lost, sms.sent),
        "click_through": Rate(sms.clicked, sms.delivered),
    }
    return CampaignReport(
        deliveries=deliveries,
        reachable=reachable,
        sms=sms,
        rates=rates,
        links=links,
    )


def campaign_sms(*, campaign_id: int) -> SmsStats:
    """The campaign's SMS outcomes as its report counts them, without its links."""
    kept = campaign_kept(campaign_id=campaign_id)
    if kept is None:
        return campaign_sms_stats(campaign_id=campaign_id)
    return SmsStats.of(**kept.sms)


def campaign_link_clicks(*, campaign_id: int) -> list[LinkClicks]:
    """Each link of the campaign's `sms_click` events with its clickers and clicks, most
    clicked first (then by link, so the order is stable), counted from the events.

    A clicker is the recipient who clicked; a click whose recipient is not known (yet) counts
    by its SMS instead, each `sms_id` once. Clicks with neither count in the clicks only; the
    Sendios parser never stores an SMS event without its `sms_id`.
    """
    rows = (
        DeliveryEvent.objects.filter(campaign_id=campaign_id, type=DeliveryEvent.Type.SMS_CLICK)
        .order_by()
        .values("link")
        .annotate(
            clicks=Count("id"),
            people=Count("recipient_id", distinct=True),
            unlinked=Count("sms_id", distinct=True, filter=Q(recipient__isnull=True)),
        )
        .values_list("link", "people", "unlinked", "clicks")
    )
    links = [
        LinkClicks(link=link, clickers=people + unlinked, clicks=clicks)
        for link, people, unlinked, clicks in rows
    ]
    return sorted(links, key=lambda row: (-row.clicks, row.link))
