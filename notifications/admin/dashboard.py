"""The dashboard: what staff see first at /admin/.

Campaigns sending now with their progress, the scheduled ones with their time, the ones that
finished in the last week with their key numbers, each provider's health, and on a new install
the three steps to a first campaign. It reads the per-status counters, never the deliveries, so
it costs the same handful of queries on any size of data. Test sends and API messages are not
campaigns here: only `Campaign.Kind.CAMPAIGN` rows are listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext

from notifications.campaigns.channels import providers_overview
from notifications.campaigns.selectors import campaigns_progress, campaigns_sms_clicks

from ..models import Campaign, MessageTemplate, Recipient
from .base import local_time_text, moment_text, until_text
from .desk import deliveries_url, events_url
from .live import progress_bar_html

SECTION_ROWS = 10
FINISHED_DAYS = 7


def campaigns_url(**filters: str) -> str:
    """The campaign list, filtered."""
    url = reverse("admin:notifications_campaign_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _campaign_url(campaign: Campaign) -> str:
    return reverse("admin:notifications_campaign_change", args=[campaign.pk])


def running_section() -> dict:
    """Campaigns sending or paused, each with its progress from the counters."""
    live = Campaign.objects.filter(
        kind=Campaign.Kind.CAMPAIGN,
        status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED],
    ).order_by("-started_at", "-id")
    campaigns = list(live[: SECTION_ROWS + 1])
    shown = campaigns[:SECTION_ROWS]
    progress = campaigns_progress(campaign_ids=[campaign.pk for campaign in shown])
    rows = []
    for campaign in shown:
        counts = progress[campaign.pk]
        total, done = counts["total"], counts["done"]
        rows.append(
            {
                "campaign": campaign,
                "url": _campaign_url(campaign),
                "paused": campaign.status == Campaign.Status.PAUSED,
                "done": done,
                "total": total,
                # The same bar, parts and words as the campaign list and page.
                "bar": progress_bar_html(campaign.status, counts),
                "preparing": campaign.materialised_at is None,
            }
        )
    return {
        "rows": rows,
        "more": len(campaigns) > SECTION_ROWS,
        "all_url": campaigns_url(status__in="running,paused"),
    }


def scheduled_section() -> dict:
    """Scheduled campaigns, soonest first, with how long until each starts."""
    campaigns = list(
        Campaign.objects.filter(
            kind=Campaign.Kind.CAMPAIGN, status=Campaign.Status.SCHEDULED
        ).order_by("scheduled_at", "id")[: SECTION_ROWS + 1]
    )
    return {
        "rows": [
            {
                "campaign": campaign,
                "url": _campaign_url(campaign),
                "until": until_text(campaign.scheduled_at) if campaign.scheduled_at else "",
                "moment": local_time_text(campaign.scheduled_at) if campaign.scheduled_at else "",
            }
            for campaign in campaigns[:SECTION_ROWS]
        ],
        "more": len(campaigns) > SECTION_ROWS,
        "all_url": campaigns_url(status__exact=Campaign.Status.SCHEDULED),
    }


def finished_section(now: datetime) -> dict:
    """Campaigns finished in the last week: sent of the deliveries, failed, and SMS clicks where
    there are any; each number links to the rows it counts."""
    campaigns = list(
        Campaign.objects.filter(
            kind=Campaign.Kind.CAMPAIGN,
            status__in=[Campaign.Status.COMPLETED, Campaign.Status.CANCELLED],
            finished_at__gte=now - timedelta(days=FINISHED_DAYS),
        ).order_by("-finished_at", "-id")[: SECTION_ROWS + 1]
    )
    shown = campaigns[:SECTION_ROWS]
    ids = [campaign.pk for campaign in shown]
    progress = campaigns_progress(campaign_ids=ids)
    # Each SMS clicked once, as the list and the SMS funnel count them.
    clicks = campaigns_sms_clicks(campaign_ids=ids)
    rows = []
    for campaign in shown:
        counts = progress[campaign.pk]
        rows.append(
            {
                "campaign": campaign,
                "url": _campaign_url(campaign),
                "finished": local_time_text(campaign.finished_at),
                "total": counts["total"],
                "total_url": deliveries_url(campaign.pk),
                "sent": counts["sent"],
                "sent_url": deliveries_url(campaign.pk, "sent"),
                "sent_percent": round(counts["sent"] * 100 / counts["total"])
                if counts["total"]
                else 0,
                "failed": counts["failed"],
                "failed_url": deliveries_url(campaign.pk, "failed"),
                "clicks": clicks.get(campaign.pk, 0),
                "clicks_url": events_url(campaign.pk, sms="clicked"),
            }
        )
    return {
        "rows": rows,
        "more": len(campaigns) > SECTION_ROWS,
        "all_url": campaigns_url(status__in="completed,cancelled"),
    }


def providers_section(now: datetime) -> dict:
    """Each provider: configured or not, a hold in force until when, its last error, its quota."""
    rows = []
    for overview in providers_overview():
        hold_until = None
        if overview.hold_seconds_left:
            hold_until = moment_text(now + timedelta(seconds=overview.hold_seconds_left))
        rows.append({"overview": overview, "hold_until": hold_until})
    return {"rows": rows, "url": reverse("admin:notifications_campaign_providers")}


def first_steps(request: HttpRequest) -> list[dict] | None:
    """The three steps to a first campaign, each done when its rows exist; None once all are."""
    user = request.user
    steps = [
        {
            "title": gettext("Import recipients"),
            "text": gettext(
                "Upload a CSV of the people you message: their ids, names and addresses."
            ),
            "done": Recipient.objects.exists(),
            "url": reverse("admin:notifications_audience_import")
            if user.has_perm("notifications.add_recipient")
            and user.has_perm("notifications.change_recipient")
            else "",
        },
        {
            "title": gettext("Write a template"),
            "text": gettext(
                "The message itself, with the recipient's name or city where you want them."
            ),
            "done": MessageTemplate.objects.exists(),
            "url": reverse("admin:notifications_messagetemplate_add")
            if user.has_perm("notifications.add_messagetemplate")
            else "",
        },
        {
            "title": gettext("Create a campaign"),
            "text": gettext(
                "Choose a template, a channel and an audience; check the plan, then send."
            ),
            "done": Campaign.objects.filter(kind=Campaign.Kind.CAMPAIGN).exists(),
            "url": reverse("admin:notifications_campaign_add")
            if user.has_perm("notifications.add_campaign")
            else "",
        },
    ]
    if all(step["done"] for step in steps):
        return None
    return steps


def dashboard_context(request: HttpRequest) -> dict:
    """What the dashboard shows this person: only the sections whose rows they may view."""
    now = timezone.now()
    context: dict = {"dashboard": True, "first_steps": first_steps(request)}
    if request.user.has_perm("notifications.view_campaign"):
        context.update(
            running=running_section(),
            scheduled=scheduled_section(),
            finished=finished_section(now),
            providers=providers_section(now),
        )
    context["can_view_deliveries"] = request.user.has_perm("notifications.view_delivery")
    context["can_view_events"] = request.user.has_perm("notifications.view_deliveryevent")
    return context
