"""Campaigns compared: the list's action, the page with their counts and rates side by side and
their sends on one time axis from each start, and that table as CSV or Excel.

The page's address carries the ids (`compare/?ids=3,5`), so it can be shared and reloaded. What
it shows comes from `campaigns.compare` (which reads `campaign_report`); each count opens the
rows it counts, through the campaign page's own links.
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.compare import (
    COMPARISON_HEADINGS,
    MAX_COMPARED,
    METRICS,
    MIN_COMPARED,
    RELATIVE_TYPE,
    ComparedCampaign,
    Metric,
    campaigns_compare,
    campaigns_relative_timeline,
    compare_ids_parse,
    comparison_rows,
)
from notifications.campaigns.report import RATE_LABELS
from notifications.errors import InvalidInput
from notifications.exports.writers import csv_stream, export_filename, xlsx_file

from ..models import Delivery
from .charts import relative_timeline_svg, relative_timeline_table, series_css
from .desk import deliveries_url, events_url, layer_url
from .exports import XLSX_TYPE
from .live import share_text

EXPORT_NAME = "campaign-comparison"
# Every status but skipped: the deliveries a campaign meant to send (`CampaignReport.reachable`).
REACHABLE_STATUSES = ",".join(s for s in Delivery.Status.values if s != Delivery.Status.SKIPPED)


# The chart's title by its unit, each whole so a language can say it its own way.
_RELATIVE_TITLES = {
    "minute": _("Sent per minute since each campaign's start"),
    "hour": _("Sent per hour since each campaign's start"),
    "day": _("Sent per day since each campaign's start"),
}


def compare_url(campaign_ids: list[int]) -> str:
    """The comparison page of these campaigns, in this order."""
    ids = ",".join(str(i) for i in campaign_ids)
    return f"{reverse('admin:notifications_campaign_compare')}?{urlencode({'ids': ids})}"


@admin.action(description=_("Compare selected campaigns"), permissions=["view"])
def compare_selected(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> HttpResponse | None:
    """Open the comparison of the chosen campaigns, or say why not."""
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    if not MIN_COMPARED <= len(ids) <= MAX_COMPARED:
        model_admin.message_user(
            request,
            ngettext(
                "Choose %(min)s to %(max)s campaigns to compare (%(count)s chosen).",
                "Choose %(min)s to %(max)s campaigns to compare (%(count)s chosen).",
                MAX_COMPARED,
            )
            % {"min": MIN_COMPARED, "max": MAX_COMPARED, "count": len(ids)},
            messages.WARNING,
        )
        return None
    return redirect(compare_url(ids))


def compare_urls(model_admin: admin.ModelAdmin) -> list:
    """The page and its exports, for `CampaignAdmin.get_urls`."""
    site = model_admin.admin_site
    return [
        path(
            "compare/",
            site.admin_view(partial(compare_view, model_admin)),
            name="notifications_campaign_compare",
        ),
        path(
            "compare/export/<str:file_format>/",
            site.admin_view(partial(compare_export_view, model_admin)),
            name="notifications_campaign_compare_export",
        ),
    ]


def _compared(
    model_admin: admin.ModelAdmin, request: HttpRequest
) -> list[ComparedCampaign] | HttpResponse:
    """The campaigns `?ids=` names, or a redirect to the list with the reason as a message."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        return campaigns_compare(campaign_ids=compare_ids_parse(request.GET.get("ids", "")))
    except InvalidInput as refusal:
        model_admin.message_user(request, str(refusal), messages.ERROR)
        return redirect("admin:notifications_campaign_changelist")


def _metric_url(metric: Metric, campaign_id: int) -> str:
    """The rows a count counts, by the campaign page's own links."""
    if metric.key == "reachable":
        return (
            f"{reverse('admin:notifications_delivery_changelist')}?"
            f"{urlencode({'campaign__id__exact': campaign_id, 'status__in': REACHABLE_STATUSES})}"
        )
    if metric.key.startswith("sms_"):
        return events_url(campaign_id, sms=metric.key.removeprefix("sms_"))
    return deliveries_url(campaign_id, metric.key)


def _table(compared: list[ComparedCampaign]) -> list[dict]:
    """One row per metric, one cell per campaign: its count, link and share (None: the
    campaign never started). SMS rows only where a campaign compared has SMS to report."""
    rows = []
    sms = any(c.sms_reported for c in compared)
    for metric in METRICS:
        if metric.key.startswith("sms_") and not sms:
            continue
        cells = []
        for campaign in compared:
            report = campaign.report
            if report is None:
                cells.append(None)
                continue
            rate = report.rates[metric.rate] if metric.rate else None
            cells.append(
                {
                    "count": metric.count(report),
                    "url": None if campaign.details_removed else _metric_url(metric, campaign.id),
                    "rate": share_text(rate, RATE_LABELS[metric.rate]) if rate else "",
                }
            )
        rows.append({"key": metric.key, "label": metric.label, "cells": cells})
    return rows


def compare_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The page: the table of counts and rates, the chart since each start, the exports."""
    compared = _compared(model_admin, request)
    if isinstance(compared, HttpResponse):
        return compared
    ids = ",".join(str(c.id) for c in compared)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Compare campaigns"),
        "opts": model_admin.model._meta,
        "campaigns": [{"campaign": c, "css": series_css(i)} for i, c in enumerate(compared)],
        "rows": _table(compared),
        "export_query": urlencode({"ids": ids}),
    }
    timeline = campaigns_relative_timeline(compared=compared)
    if timeline is not None:
        names = {c.id: c.name for c in compared}
        title = _RELATIVE_TITLES[timeline.unit]
        context.update(
            timeline=relative_timeline_svg(timeline, names, title=title),
            timeline_table=relative_timeline_table(timeline, names, title=title),
            timeline_title=title,
            timeline_legend=[
                {
                    "name": c.name,
                    "css": series_css(i),
                    "count": timeline.totals[c.id],
                    "url": None if c.details_removed else layer_url(c.id, RELATIVE_TYPE),
                }
                for i, c in enumerate(compared)
                if c.id in timeline.series
            ],
        )
    return TemplateResponse(request, "admin/notifications/campaign/compare.html", context)


def compare_export_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, file_format: str
) -> HttpResponse:
    """The page's table, one row per campaign, as CSV or an Excel workbook."""
    if file_format not in ("csv", "xlsx"):
        raise Http404
    compared = _compared(model_admin, request)
    if isinstance(compared, HttpResponse):
        return compared
    rows = comparison_rows(compared)
    zone = timezone.get_current_timezone()
    filename = export_filename(EXPORT_NAME, "", timezone.localdate(), file_format)
    if file_format == "csv":
        response = StreamingHttpResponse(
            csv_stream(COMPARISON_HEADINGS, rows, zone=zone),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    workbook = xlsx_file(COMPARISON_HEADINGS, rows, title=gettext("Comparison"), zone=zone)
    return FileResponse(workbook, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
