"""The campaign list: each page's counters, people and SMS clicks read once for the whole page
(`CampaignChangeList`), and the columns drawn from what it attached to each row
(`CampaignListMixin`, mixed into the campaigns' admin).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.selectors import (
    campaigns_people_sizes,
    campaigns_progress,
    campaigns_sms_clicks,
)

from ..formats import number_text
from ..models import Campaign
from .base import age_text, local_time_text, moment_text, until_text
from .desk import deliveries_url, events_url, recipients_url
from .live import progress_bar_html


class CampaignChangeList(ChangeList):
    """The campaign list: each page's counters, people and SMS clicks are read in one query
    each for the whole page, never by counting deliveries or recipients."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        campaigns = list(self.result_list)
        progress = campaigns_progress(campaign_ids=[c.pk for c in campaigns])
        people = campaigns_people_sizes(
            campaigns=[c for c in campaigns if c.materialised_at is None]
        )
        clicks = campaigns_sms_clicks(
            campaign_ids=[c.pk for c in campaigns if c.sendios_project_id is not None]
        )
        for campaign in campaigns:
            campaign.desk_progress = progress[campaign.pk]
            campaign.desk_people = people.get(campaign.pk)
            campaign.desk_deliveries = progress[campaign.pk]["total"]
            campaign.desk_clicks = clicks.get(campaign.pk)


class CampaignListMixin:
    """The campaign list's columns, read from what `CampaignChangeList` attached to each row:
    no column counts deliveries or recipients itself."""

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return CampaignChangeList

    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, obj: Campaign) -> str:
        # A pause the engine made needs someone to act: the badge says so, as the desk does.
        label = obj.get_status_display()
        if obj.status == Campaign.Status.PAUSED and obj.pause_cause not in ("", "staff"):
            label = gettext("%(status)s: %(cause)s") % {
                "status": label,
                "cause": obj.get_pause_cause_display().lower(),
            }
        return format_html('<span class="badge status-{}">{}</span>', obj.status, label)

    @admin.display(description=_("People"))
    def audience(self, obj: Campaign) -> str:
        if obj.materialised_at is not None:
            deliveries = getattr(obj, "desk_deliveries", None)
            if deliveries is None:
                return "—"
            if obj.details_removed_at is not None:  # the rows it counted are gone
                return number_text(deliveries)
            return format_html(
                '<a href="{}">{}</a>', deliveries_url(obj.pk), number_text(deliveries)
            )
        people = getattr(obj, "desk_people", None)
        if people is None:
            return "—"
        if people.exact:
            return format_html(
                '<a href="{}">{}</a>', recipients_url(obj.pk), number_text(people.count)
            )
        return format_html(
            '<a href="{}">≈ {}</a> <span class="quiet">{}</span>',
            recipients_url(obj.pk),
            number_text(people.count),
            gettext("counted %(age)s") % {"age": age_text(people.counted_at)},
        )

    @admin.display(description=_("Progress"))
    def progress_bar(self, obj: Campaign) -> str:
        progress = getattr(obj, "desk_progress", None)
        if not progress or not progress["total"]:
            return "—"
        return progress_bar_html(obj.status, progress)

    def _status_count(self, obj: Campaign, status: str) -> str:
        progress = getattr(obj, "desk_progress", None)
        if not progress or not progress["total"]:
            return "—"
        count = progress[status]
        css = f"count {status}" if count else "count zero"
        if obj.details_removed_at is not None:
            return format_html('<span class="{}">{}</span>', css, number_text(count))
        return format_html(
            '<a class="{}" href="{}">{}</a>',
            css,
            deliveries_url(obj.pk, status),
            number_text(count),
        )

    @admin.display(description=pgettext_lazy("deliveries", "Sent"))
    def sent(self, obj: Campaign) -> str:
        return self._status_count(obj, "sent")

    @admin.display(description=pgettext_lazy("deliveries", "Failed"))
    def failed(self, obj: Campaign) -> str:
        return self._status_count(obj, "failed")

    @admin.display(description=pgettext_lazy("deliveries", "Unknown"))
    def unknown(self, obj: Campaign) -> str:
        return self._status_count(obj, "unknown")

    @admin.display(description=_("SMS clicked"))
    def sms_clicks(self, obj: Campaign) -> str:
        clicks = getattr(obj, "desk_clicks", None)
        if clicks is None:
            return "—"
        if obj.details_removed_at is not None:
            return number_text(clicks)
        # Each SMS clicked once, as counted: a link to the click events would list repeats.
        return format_html(
            '<a href="{}">{}</a>', events_url(obj.pk, sms="clicked"), number_text(clicks)
        )

    @admin.display(description=_("When"), ordering="scheduled_at")
    def when(self, obj: Campaign) -> str:
        if obj.started_at:
            return gettext("Started %(moment)s") % {"moment": local_time_text(obj.started_at)}
        if obj.scheduled_at and obj.status == Campaign.Status.SCHEDULED:
            at = local_time_text(obj.scheduled_at)
            if obj.scheduled_at <= timezone.now():
                return gettext("Starting, scheduled for %(moment)s") % {"moment": at}
            return gettext("Scheduled %(until)s — %(moment)s") % {
                "until": until_text(obj.scheduled_at),
                "moment": at,
            }
        if obj.scheduled_at and obj.status == Campaign.Status.DRAFT:
            return gettext("Draft, planned for %(moment)s") % {
                "moment": moment_text(obj.scheduled_at)
            }
        return gettext("Created %(moment)s") % {"moment": local_time_text(obj.created_at)}
