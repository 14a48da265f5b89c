"""Campaigns: changes while draft, the lifecycle actions, stats and the report."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.campaigns.kept import campaign_capped
from notifications.campaigns.lifecycle import (
    campaign_cancel,
    campaign_dispatch,
    campaign_pause,
    campaign_resume,
    campaign_retry_failed,
)
from notifications.campaigns.report import CampaignReport, campaign_report, campaign_sms
from notifications.campaigns.selectors import campaign_progress
from notifications.campaigns.services import campaign_delete, campaign_save
from notifications.campaigns.time_left import campaign_time_left

from ...models import Campaign
from ..permissions import may_dispatch
from ..serializers.base import EmptySerializer
from ..serializers.campaigns import (
    CampaignFilterSerializer,
    CampaignReportSerializer,
    CampaignSerializer,
    CampaignStatsSerializer,
    DispatchSerializer,
    RetriedSerializer,
)
from .base import ApiViewSet
from .campaign_desk import CampaignDeskActions


@extend_schema_view(list=extend_schema(parameters=[CampaignFilterSerializer]))
class CampaignViewSet(
    CampaignDeskActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Campaigns: change them while draft, then dispatch, pause, resume, cancel, retry; edit
    the content of a paused or completed one, copy, reschedule, and send tests."""

    serializer_class = CampaignSerializer
    lookup_value_regex = r"\d+"
    # Every move of a campaign's life is behind the admin's sending buttons' permission: a new
    # content version, a new start and a test send are sending decisions too. A copy is a new
    # draft, as the admin's add.
    action_permissions = {
        "dispatch_campaign": ("dispatch",),
        "pause": ("dispatch",),
        "resume": ("dispatch",),
        "cancel": ("dispatch",),
        "retry_failed": ("dispatch",),
        "content": ("dispatch",),
        "reschedule": ("dispatch",),
        "unschedule": ("dispatch",),
        "send_test": ("dispatch",),
        "copy": ("add",),
    }

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.prefetch_related("audiences", "excluded_audiences")

    def filter_queryset(self, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        if self.action != "list":
            return queryset
        return queryset.filter(**self.filters(CampaignFilterSerializer))

    def _save(self, serializer: CampaignSerializer, campaign_id: int | None) -> None:
        data = dict(serializer.validated_data)
        audiences = data.pop("audiences", None)
        excluded = data.pop("excluded_audiences", None)
        campaign = campaign_save(
            campaign_id=campaign_id,
            data=data,
            audiences=audiences,
            excluded_audiences=excluded,
            user=self.request.user,
            may_dispatch=may_dispatch(self.request),
        )
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    def perform_create(self, serializer: CampaignSerializer) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: CampaignSerializer) -> None:
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance: Campaign) -> None:
        campaign_delete(campaign_id=instance.pk)

    def _answer(self, campaign_id: int) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=campaign_id)).data)

    def _transition(self, request: Request, service: Callable[..., Campaign]) -> Response:
        """Call a bodiless lifecycle service on this campaign and answer with the campaign."""
        campaign = self.get_object()
        self.no_body(request)
        service(campaign_id=campaign.pk, user=request.user)
        return self._answer(campaign.pk)

    @extend_schema(request=DispatchSerializer, responses=CampaignSerializer)
    # Not named `dispatch`: that would replace the view's own request dispatch.
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_campaign(self, request: Request, pk: str) -> Response:
        """Send the draft now, or schedule it; the content and audience freeze."""
        campaign = self.get_object()
        ask = DispatchSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        campaign_dispatch(
            campaign_id=campaign.pk,
            user=request.user,
            scheduled_at=ask.validated_data.get("scheduled_at"),
        )
        return self._answer(campaign.pk)

    @extend_schema(request=EmptySerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        """Stop new sends at once."""
        return self._transition(request, campaign_pause)

    @extend_schema(request=EmptySerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Continue a paused campaign where it stopped."""
        return self._transition(request, campaign_resume)

    @extend_schema(request=EmptySerializer, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop for good; what has not gone out is cancelled."""
        return self._transition(request, campaign_cancel)

    @extend_schema(request=EmptySerializer, responses=RetriedSerializer)
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request: Request, pk: str) -> Response:
        """Send the failed deliveries again."""
        campaign = self.get_object()
        self.no_body(request)
        return Response({"retried": campaign_retry_failed(campaign_id=campaign.pk)})

    @extend_schema(responses=CampaignStatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str) -> Response:
        """Deliveries by status, SMS sent/lost/clicked, the fraction done, the least time
        the rest takes within the provider's limits (`eta_seconds`, null if unknown), and the
        deliveries frequency caps hold back now or skipped."""
        campaign = self.get_object()
        counts = campaign_progress(campaign_id=campaign.pk)
        capped = campaign_capped(campaign_id=campaign.pk)
        sms = campaign_sms(campaign_id=campaign.pk)
        eta = campaign_time_left(campaign=campaign, progress=counts)
        return Response(
            {
                "campaign": campaign.pk,
                "status": campaign.status,
                "deliveries": counts,
                "sms": {
                    "sent": sms.sent,
                    "lost": sms.lost,
                    "delivered": sms.delivered,
                    "clicked": sms.clicked,
                    "click_through_rate": sms.click_through_rate,
                },
                "progress": counts["done"] / counts["total"] if counts["total"] else 0.0,
                "eta_seconds": eta,
                "capped_deferred": capped.deferred,
                "capped_skipped": capped.skipped,
            }
        )

    @extend_schema(responses=CampaignReportSerializer)
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str) -> Response:
        """Deliveries by status and SMS outcomes with their rates (each a numerator, a
        denominator and their ratio), and clicks by link: what the campaign's page shows."""
        campaign = self.get_object()
        report = campaign_report(campaign_id=campaign.pk)
        return Response(
            {
                "campaign": campaign.pk,
                "status": campaign.status,
                **report_counts(report),
                "links": [
                    {"link": row.link, "clickers": row.clickers, "clicks": row.clicks}
                    for row in report.links
                ],
            }
        )


def report_counts(report: CampaignReport) -> dict:
    """A report's deliveries, reachable, SMS and rates as the API gives them (`report/`, and
    each campaign of `compare/`)."""
    sms = report.sms
    return {
        "deliveries": report.deliveries,
        "reachable": report.reachable,
        "sms": {
            "sent": sms.sent,
            "lost": sms.lost,
            "delivered": sms.delivered,
            "clicked": sms.clicked,
            "click_through_rate": report.rates["click_through"].ratio,
        },
        "rates": {
            name: {
                "numerator": rate.numerator,
                "denominator": rate.denominator,
                "ratio": rate.ratio,
            }
            for name, rate in report.rates.items()
        },
    }
