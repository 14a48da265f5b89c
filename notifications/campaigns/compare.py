"""Campaigns side by side: each one's counts and rates, and their sends on one time axis.

Every count and rate is `report.campaign_report`'s, so a campaign reads the same here as on
its own page and in the API's `report/`. A campaign whose deliveries were never made (a draft,
a scheduled one, one cancelled before it started) has no funnel: it is compared as "not
started", not as zeros.

The time axis is relative: bucket 0 holds each campaign's start, so campaigns sent on different
days line up. The unit (minute, hour, day) is the one the longest of them needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.errors import InvalidInput
from notifications.models import Campaign, DeliveryEvent

from .report import RATE_LABELS, CampaignReport, campaign_report
from .timeline import MAX_TIMELINE_BUCKETS, campaign_event_buckets, timeline_unit

MIN_COMPARED, MAX_COMPARED = 2, 10
NOT_STARTED = _("not started")


@dataclass(frozen=True)
class ComparedCampaign:
    """One campaign of a comparison; `report` is None when it never started. `sms_reported`:
    it may hear of its SMS (a Sendios project) or has, as the campaign page shows SMS rows.
    `details_removed`: retention removed its rows, its report is the summary kept."""

    id: int
    name: str
    channel: str
    channel_label: str
    status: str
    status_label: str
    started_at: datetime | None
    finished_at: datetime | None
    report: CampaignReport | None
    sms_reported: bool
    details_removed: bool = False


@dataclass(frozen=True)
class Metric:
    """A row of the comparison: a count read from a report and, where it has one, its rate
    (a name in `report.RATE_LABELS`)."""

    key: str
    label: str
    rate: str | None = None

    def count(self, report: CampaignReport) -> int:
        if self.key in ("sent", "failed", "unknown"):
            return report.deliveries[self.key]
        if self.key == "reachable":
            return report.reachable
        return getattr(report.sms, self.key.removeprefix("sms_"))


METRICS = (
    Metric("reachable", _("Reachable")),
    Metric("sent", pgettext_lazy("deliveries", "Sent"), "sent"),
    Metric("failed", pgettext_lazy("deliveries", "Failed"), "failed"),
    Metric("unknown", pgettext_lazy("deliveries", "Unknown"), "unknown"),
    Metric("sms_sent", _("SMS sent")),
    Metric("sms_delivered", _("SMS delivered"), "sms_delivered"),
    Metric("sms_lost", _("SMS lost"), "sms_lost"),
    Metric("sms_clicked", _("SMS clicked"), "click_through"),
)


def compare_ids_parse(text: str) -> list[int]:
    """'3,5,8' as [3, 5, 8], in that order; InvalidInput on the field `ids` otherwise."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise InvalidInput(
            gettext("Give campaign ids as numbers separated by commas."), field="ids"
        )
    return [int(part) for part in parts]


def campaigns_compare(*, campaign_ids: Sequence[int]) -> list[ComparedCampaign]:
    """The campaigns, in the order given, each with its report (None: not started).

    Between `MIN_COMPARED` and `MAX_COMPARED` distinct campaigns that exist; anything else is
    InvalidInput on the field `ids`, naming the ids that do not exist.
    """
    ids = list(dict.fromkeys(campaign_ids))
    if len(ids) < MIN_COMPARED:
        raise InvalidInput(
            ngettext(
                "Choose at least %(count)s campaign to compare.",
                "Choose at least %(count)s campaigns to compare.",
                MIN_COMPARED,
            )
            % {"count": MIN_COMPARED},
            field="ids",
        )
    if len(ids) > MAX_COMPARED:
        raise InvalidInput(
            ngettext(
                "Compare at most %(most)s campaigns at once (%(count)s chosen).",
                "Compare at most %(most)s campaigns at once (%(count)s chosen).",
                len(ids),
            )
            % {"most": MAX_COMPARED, "count": len(ids)},
            field="ids",
        )
    found = Campaign.objects.in_bulk(ids)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidInput(
            ngettext(
                "No campaign with the id %(ids)s.",
                "No campaigns with the ids %(ids)s.",
                len(missing),
            )
            % {"ids": ", ".join(missing)},
            field="ids",
        )
    return [_compared(found[i]) for i in ids]


def _compared(campaign: Campaign) -> ComparedCampaign:
    started = campaign.materialised_at is not None
    report = campaign_report(campaign_id=campaign.pk) if started else None
    return ComparedCampaign(
        id=campaign.pk,
        name=campaign.name,
        channel=campaign.channel,
        channel_label=campaign.get_channel_display(),
        status=campaign.status,
        status_label=campaign.get_status_display(),
        started_at=(campaign.started_at or campaign.dispatched_at) if started else None,
        finished_at=campaign.finished_at,
        report=report,
        sms_reported=campaign.sendios_project_id is not None
        or (report is not None and report.sms.sent > 0),
        details_removed=campaign.details_removed_at is not None,
    )


def percent(ratio: float | None) -> float | None:
    """A ratio as a percentage to a tenth, as the pages show it; None stays None."""
    return None if ratio is None else round(ratio * 100, 1)


COMPARISON_HEADINGS = (
    _("Campaign"),
    _("Channel"),
    _("Status"),
    pgettext_lazy("campaign", "Started"),
    *(
        heading
        for metric in METRICS
        for heading in (
            (metric.label, format_lazy("{}, % {}", metric.label, RATE_LABELS[metric.rate]))
            if metric.rate
            else (metric.label,)
        )
    ),
)


def comparison_rows(compared: Sequence[ComparedCampaign]) -> list[tuple]:
    """One row per campaign under `COMPARISON_HEADINGS`: counts, and rates as percentages
    (empty where there is nothing to divide by); a campaign not started says so and leaves its
    counts empty."""
    rows = []
    for campaign in compared:
        head = (campaign.name, campaign.channel_label, campaign.status_label)
        if campaign.report is None:
            rows.append((*head, NOT_STARTED))
            continue
        cells: list = []
        for metric in METRICS:
            cells.append(metric.count(campaign.report))
            if metric.rate:
                cells.append(percent(campaign.report.rates[metric.rate].ratio))
        rows.append((*head, campaign.started_at, *cells))
    return rows


@dataclass(frozen=True)
class RelativeTimeline:
    """Sends of several campaigns per bucket, counted from each one's start: `series[id][i]`
    is what campaign `id` sent in the i-th `unit` after its start (bucket 0 holds the start)."""

    unit: str
    length: int
    series: dict[int, list[int]]
    totals: dict[int, int]


RELATIVE_TYPE = DeliveryEvent.Type.SENT


def campaigns_relative_timeline(
    *, compared: Sequence[ComparedCampaign], now: datetime | None = None
) -> RelativeTimeline | None:
    """Each started campaign's messages sent per minute, hour or day since its start, one
    grouped query per campaign; None when none of them has sent anything.

    A bucket's index is how many units its start lies after the campaign's start, rounded up,
    so the bucket holding the start is 0 whatever zone the buckets were cut in. `totals` are
    every message sent, including any past `MAX_TIMELINE_BUCKETS`.
    """
    now = now or timezone.now()
    started = [c for c in compared if c.report is not None and c.started_at is not None]
    if not started:
        return None
    longest = max((c.finished_at or now) - c.started_at for c in started)
    unit = timeline_unit(now, now + max(longest, timedelta(0)))
    step = _STEPS[unit]
    series: dict[int, list[int]] = {}
    totals: dict[int, int] = {}
    for campaign in started:
        buckets = campaign_event_buckets(campaign_id=campaign.id, unit=unit, types=[RELATIVE_TYPE])
        counts: dict[int, int] = {}
        for start, by_type in buckets.items():
            index = max(0, math.ceil((start - campaign.started_at) / step))
            counts[index] = counts.get(index, 0) + by_type.get(RELATIVE_TYPE, 0)
        series[campaign.id] = [counts.get(i, 0) for i in range(MAX_TIMELINE_BUCKETS)]
        totals[campaign.id] = sum(counts.values())
    last = max((i for c in series.values() for i, n in enumerate(c) if n), default=-1)
    if last < 0:
        return None
    length = last + 1
    return RelativeTimeline(
        unit=unit,
        length=length,
        series={cid: values[:length] for cid, values in series.items()},
        totals=totals,
    )


_STEPS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def offset_text(index: int, unit: str) -> str:
    """How long after the start a bucket begins: '0 min', '+10 min', '+1 h 30 min', '+2 d'."""
    minutes = index * {"minute": 1, "hour": 60, "day": 1440}[unit]
    if minutes == 0:
        return f"0 {_SHORT[unit]}"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{n} {name}"
        for n, name in ((days, _SHORT["day"]), (hours, _SHORT["hour"]), (mins, _SHORT["minute"]))
        if n
    ]
    return "+" + " ".join(parts)


# Short units after a number, as on a chart's axis.
_SHORT = {
    "minute": pgettext_lazy("short unit", "min"),
    "hour": pgettext_lazy("short unit", "h"),
    "day": pgettext_lazy("short unit", "d"),
}
