"""The recipient list's filters that a campaign's numbers link to: who is in its audiences,
and whom it reaches or skips (by the rules of materialisation, exclusions first)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.audiences.query import audiences_q
from notifications.models import Campaign
from notifications.recipients.selectors import Reach, recipients_by_reach


class CampaignAudienceFilter(admin.SimpleListFilter):
    """Recipients in a campaign's audiences: where the numbers of a send plan link to."""

    title = "campaign audience"
    parameter_name = "campaign"
    RECENT = 10

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        recent = Campaign.objects.filter(kind=Campaign.Kind.CAMPAIGN).order_by("-id")
        return [(str(pk), name) for pk, name in recent.values_list("pk", "name")[: self.RECENT]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        campaign = Campaign.objects.filter(pk=int(self.value())).first()
        if campaign is None:
            return queryset.none()
        return queryset.filter(audiences_q(campaign.audiences.all()))


class ReachFilter(admin.SimpleListFilter):
    """Whom a campaign reaches or skips, by the rules of materialisation."""

    title = "reach in that campaign"
    parameter_name = "reach"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        if not request.GET.get("campaign"):
            return []
        return [
            (Reach.REACHABLE, "Reachable"),
            (Reach.EXCLUDED, "Skipped: excluded"),
            (Reach.OPTED_OUT, "Skipped: opted out"),
            (Reach.NO_ADDRESS, "Skipped: no address"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        campaign_id = request.GET.get("campaign", "")
        if not self.value() or not campaign_id.isdigit():
            return queryset
        campaign = Campaign.objects.filter(pk=int(campaign_id)).first()
        if campaign is None or self.value() not in set(Reach):
            return queryset.none()
        return recipients_by_reach(
            queryset,
            campaign.channel,
            Reach(self.value()),
            excluded=campaign.excluded_audiences.all(),
        )
