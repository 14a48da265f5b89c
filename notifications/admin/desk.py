"""The campaign desk: what a campaign's page shows above its form, by phase, and the links
and sentences it is made of (funnels, follow-up audiences, the timeline's legend).

A draft's send plan in words, its previews and warnings are in plan.py; live progress (the bar,
the state in words, the time left) in live.py; the timelines are drawn in charts.py, and
`timeline_view` serves them again for the page to refresh while the campaign sends.
"""

from __future__ import annotations

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.audiences.follow_up import Outcome
from notifications.campaigns.kept import campaign_kept
from notifications.campaigns.plan import campaign_send_plan
from notifications.campaigns.preflight import campaign_preflight
from notifications.campaigns.report import RATE_LABELS, CampaignReport, campaign_report
from notifications.campaigns.selectors import campaign_follow_up_counts, campaign_message
from notifications.campaigns.timeline import Timeline, campaign_timeline

from ..formats import number_text
from ..models import Campaign, Delivery, DeliveryEvent
from .base import age_text, local_time_text
from .charts import DELIVERY_SERIES, SMS_SERIES, Series, timeline_svg, timeline_table
from .follow_up import follow_up_url
from .live import (
    LIVE_STATUSES,
    campaign_live,
    duration_text,
    rate_text,
    share_text,
)
from .plan import message_previews, plan_sentence, plan_warnings


def deliveries_url(campaign_id: int, status: str | None = None, *, stage: str = "") -> str:
    """The delivery list filtered to a campaign (and a status, or a stage of the unfinished:
    `filters.DeliveryStageFilter`)."""
    filters = {"campaign__id__exact": campaign_id}
    if status:
        filters["status__exact"] = status
    if stage:
        filters["stage"] = stage
    return f"{reverse('admin:notifications_delivery_changelist')}?{urlencode(filters)}"


def layer_url(campaign_id: int, event_type: str) -> str:
    """What a timeline's layer counts: the messages that went (they have no event of their
    own: `timeline.event_buckets_count`), or the events of the type."""
    if event_type == DeliveryEvent.Type.SENT:
        return deliveries_url(campaign_id, Delivery.Status.SENT)
    return events_url(campaign_id, event_type)


def events_url(
    campaign_id: int,
    event_type: str | None = None,
    *,
    sms: str = "",
    link: str | None = None,
    clickers_of: str | None = None,
) -> str:
    """The event list filtered to a campaign (and an event type, or each SMS once by what
    became of it: `filters.SmsOutcomeFilter`), to the events of one link, or to one click per
    person who clicked a link (`filters.LinkClickersFilter`)."""
    filters: dict = {"campaign__id__exact": campaign_id}
    if event_type:
        filters["type__exact"] = event_type
    if sms:
        filters["sms"] = sms
    if link is not None:
        filters["link__exact"] = link
    if clickers_of is not None:
        filters["clickers_of"] = clickers_of
    return f"{reverse('admin:notifications_deliveryevent_changelist')}?{urlencode(filters)}"


def recipients_url(campaign_id: int, reach: str = "") -> str:
    """The recipient list filtered to a campaign's audience (and who it skips)."""
    filters = {"campaign": campaign_id}
    if reach:
        filters["reach"] = reach
    return f"{reverse('admin:notifications_recipient_changelist')}?{urlencode(filters)}"


# The outcomes a dispatched campaign's page offers to turn into a new audience, in this order,
# as the line "New audience from: ..." names them.
FOLLOW_UP_OUTCOMES = {
    Outcome.FAILED: pgettext_lazy("follow-up audience", "failed"),
    Outcome.SKIPPED: pgettext_lazy("follow-up audience", "skipped"),
    Outcome.UNKNOWN: pgettext_lazy("follow-up audience", "unknown"),
    Outcome.SENT_NOT_CLICKED: pgettext_lazy("follow-up audience", "sent but not clicked"),
    Outcome.CLICKED: pgettext_lazy("follow-up audience", "clicked"),
}


def follow_up_links(campaign: Campaign, progress: dict[str, int]) -> list[dict]:
    """'New audience from: failed (54), ...': the outcomes with at least one recipient, each
    with the number of people its audience would hold."""
    counts = campaign_follow_up_counts(campaign_id=campaign.pk, progress=progress)
    links = []
    for outcome, label in FOLLOW_UP_OUTCOMES.items():
        if counts[outcome]:
            links.append(
                {
                    "outcome": outcome,
                    "label": label,
                    "count": counts[outcome],
                    "url": follow_up_url(campaign.pk, outcome),
                }
            )
    return links


def campaign_desk(campaign: Campaign) -> dict:
    """Everything the campaign page shows above the form, by phase.

    A draft gets the send plan, previews for a few real recipients and warnings; a dispatched
    campaign gets live progress, the delivery funnel and the timeline.
    """
    desk: dict = {"status": campaign.status, "pk": campaign.pk}
    if campaign.kind == Campaign.Kind.CAMPAIGN and campaign.status == Campaign.Status.DRAFT:
        content = campaign_message(campaign)
        plan = campaign_send_plan(campaign=campaign, content=content)
        check = campaign_preflight(campaign=campaign)
        desk.update(
            phase="draft",
            plan=plan,
            plan_sentence=plan_sentence(plan),
            counted=age_text(plan.counted_at),
            eta=duration_text(plan.eta_seconds),
            rate=rate_text(plan.limits) if plan.limits else "",
            previews=message_previews(campaign, content),
            errors=check.errors,
            warnings=[*check.warnings, *plan_warnings(campaign, content, plan)],
            links={
                "audience": recipients_url(campaign.pk),
                "excluded": recipients_url(campaign.pk, "excluded"),
                "opted_out": recipients_url(campaign.pk, "opted_out"),
                "no_address": recipients_url(campaign.pk, "no_address"),
                "reachable": recipients_url(campaign.pk, "reachable"),
            },
        )
        return desk
    live = campaign_live(campaign)
    desk.update(
        phase="sending",
        live=live,
        poll=campaign.status in LIVE_STATUSES,
        finished=campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED),
    )
    report = campaign_report(campaign_id=campaign.pk)
    # Once retention removed the rows, each number is shown without the list it would open:
    # that list would no longer hold what the number counts.
    removed = campaign.details_removed_at is not None
    if removed:
        desk["details_removed"] = details_removed_sentence(campaign)
    desk["left_url"] = deliveries_url(campaign.pk, stage="left")
    desk["quiet_hours_url"] = deliveries_url(campaign.pk, stage="quiet_hours")
    desk["capped_url"] = deliveries_url(campaign.pk, stage="capped")
    desk["capped_skipped_url"] = deliveries_url(campaign.pk, stage="capped_skipped")
    desk["funnel"] = _funnel(campaign, live, report)
    progress = {**live["counts"], "total": live["total"]}
    # A follow-up audience is made of the campaign's deliveries: none are left to make it of.
    desk["follow_ups"] = [] if removed else follow_up_links(campaign, progress)
    if campaign.sendios_project_id is not None or report.sms.sent:
        desk["sms_funnel"] = _sms_funnel(campaign, report)
    desk["link_clicks"] = [
        {
            "label": row.label,
            "clickers": row.clickers,
            "clickers_url": None if removed else events_url(campaign.pk, clickers_of=row.link),
            "clicks": row.clicks,
            "clicks_url": None if removed else events_url(campaign.pk, "sms_click", link=row.link),
        }
        for row in report.links
    ]
    desk.update(timeline_section(campaign))
    return desk


def details_removed_sentence(campaign: Campaign) -> str:
    """'Details removed after 180 days, on 4 Jun, 03:00: the numbers are kept, the lists of
    deliveries and events they counted are not.'"""
    kept = campaign_kept(campaign_id=campaign.pk)
    days = kept.kept_days if kept else 0
    return ngettext(
        "Details removed after %(days)s day, on %(date)s: the numbers are kept, the lists of "
        "deliveries and events they counted are not.",
        "Details removed after %(days)s days, on %(date)s: the numbers are kept, the lists of "
        "deliveries and events they counted are not.",
        days,
    ) % {"days": number_text(days), "date": local_time_text(campaign.details_removed_at)}


# How often the page asks for the timeline again while the campaign sends. Drawing it reads
# every event of the campaign (about half a second at a million deliveries on PostgreSQL), so
# a page open for an hour costs a minute of database time at this pace, not ten.
TIMELINE_REFRESH_SECONDS = 10


def timeline_section(campaign: Campaign) -> dict:
    """The timeline part of the desk: the charts, their numbers and legends (none before the
    first event), and whether the page should fetch it again (`timeline_live`: while the
    campaign is running)."""
    section: dict = {
        "pk": campaign.pk,
        "timeline_live": campaign.status == Campaign.Status.RUNNING,
        "timeline_refresh_seconds": TIMELINE_REFRESH_SECONDS,
    }
    timeline = campaign_timeline(campaign=campaign)
    if timeline is None:
        return section
    section["timeline_unit"] = timeline.unit
    title = gettext("Deliveries over time")
    section["timeline"] = timeline_svg(timeline, DELIVERY_SERIES, title=title)
    section["timeline_table"] = timeline_table(timeline, DELIVERY_SERIES, title=title)
    section["timeline_legend"] = _legend(campaign, timeline, DELIVERY_SERIES)
    if any(sum(timeline.series(s.type)) for s in SMS_SERIES):
        title = gettext("SMS over time")
        section["sms_timeline"] = timeline_svg(timeline, SMS_SERIES, title=title)
        section["sms_timeline_table"] = timeline_table(timeline, SMS_SERIES, title=title)
        section["sms_timeline_legend"] = _legend(campaign, timeline, SMS_SERIES)
    return section


def timeline_view(model_admin: ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline section alone, as HTML, for the page to swap in while the campaign sends;
    whoever may see the campaign's page may see it."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_view_permission(request, campaign):
        raise PermissionDenied
    return TemplateResponse(
        request,
        "admin/notifications/campaign/timeline.html",
        {"desk": timeline_section(campaign)},
    )


def _legend(campaign: Campaign, timeline: Timeline, series: tuple[Series, ...]) -> list[dict]:
    """The chart's layers with their events in all (every attempt's answer: a delivery retried
    by staff fails twice), each opening those events."""
    return [
        {
            "label": s.legend,
            "css": s.css,
            "count": timeline.total(s.type),
            "url": None if campaign.details_removed_at else layer_url(campaign.pk, s.type),
        }
        for s in series
    ]


def _rate(report: CampaignReport, name: str) -> str:
    return share_text(report.rates[name], RATE_LABELS[name]) if name in report.rates else ""


def _funnel(campaign: Campaign, live: dict, report: CampaignReport) -> list[dict]:
    """Materialised deliveries and where they went, each with the list behind its number and,
    the outcomes' share of the reachable (refreshed as the page polls: `live["rates"]`):
    unfinished ones as waiting (for a turn, or a retry) or being sent (the request began)."""
    counts, total = live["counts"], live["total"] or 1
    rows = [(gettext("Deliveries"), live["total"], deliveries_url(campaign.pk), "total")]
    rows += [
        (label, counts[status], deliveries_url(campaign.pk, status), status)
        for status, label in (
            ("sent", pgettext_lazy("deliveries", "Sent")),
            ("failed", pgettext_lazy("deliveries", "Failed")),
            ("unknown", _("Unknown (may have arrived)")),
            ("skipped", _("Skipped (excluded, opted out, no address)")),
            ("cancelled", pgettext_lazy("deliveries", "Cancelled")),
        )
        if counts[status] or status in ("sent", "failed", "unknown")
    ]
    rows += [
        (label, counts[stage], deliveries_url(campaign.pk, stage=stage), stage)
        for stage, label in (
            ("waiting", pgettext_lazy("deliveries", "Waiting")),
            ("in_flight", _("Being sent")),
        )
        if counts[stage] or live["status"] in LIVE_STATUSES
    ]
    removed = campaign.details_removed_at is not None
    return [
        {
            "label": label,
            "count": count,
            "css": css,
            "percent": round(count * 100 / total, 1),
            "rate": _rate(report, css),
            "url": None if removed else url,
        }
        for label, count, url, css in rows
    ]


def _sms_funnel(campaign: Campaign, report: CampaignReport) -> list[dict]:
    """Each SMS once, by what became of it, with its share; each number opens one event per
    SMS it counts."""
    sms = report.sms
    base = sms.sent or 1
    rows = [
        (gettext("SMS sent"), sms.sent, "sent", "sms-sent", ""),
        (pgettext("SMS", "Lost"), sms.lost, "lost", "sms-lost", "sms_lost"),
        (
            pgettext("SMS", "Delivered"),
            sms.delivered,
            "delivered",
            "sms-delivered",
            "sms_delivered",
        ),
        (pgettext("SMS", "Clicked"), sms.clicked, "clicked", "sms-click", "click_through"),
    ]
    return [
        {
            "label": label,
            "count": count,
            "css": css,
            "percent": round(count * 100 / base, 1),
            "rate": _rate(report, rate),
            "url": None if campaign.details_removed_at else events_url(campaign.pk, sms=outcome),
        }
        for label, count, outcome, css, rate in rows
    ]
