"""Campaigns compared: `GET /api/campaigns/compare/?ids=3,5`, what the admin's comparison page
shows, read from the same `campaigns.compare` and so from each campaign's report."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.campaigns.compare import campaigns_compare, compare_ids_parse

from ...models import Campaign
from ..serializers.compare import CampaignComparisonSerializer, CompareQuerySerializer
from .base import ApiView
from .campaigns import report_counts


class CampaignCompareView(ApiView):
    """Reads campaigns, so it asks what the campaign report asks: a key, or a session that may
    view campaigns."""

    permission_model = Campaign

    @extend_schema(
        operation_id="campaigns_compare",
        parameters=[CompareQuerySerializer],
        responses=CampaignComparisonSerializer,
    )
    def get(self, request: Request) -> Response:
        """2 to 10 campaigns' counts and rates side by side, in the order asked; a campaign
        never started has a null `report`. Bad, missing, repeated-only or unknown ids: 400 on
        `ids`."""
        ids = self.filters(CompareQuerySerializer)["ids"]
        compared = campaigns_compare(campaign_ids=compare_ids_parse(ids))
        body = {
            "campaigns": [
                {
                    "campaign": c.id,
                    "name": c.name,
                    "channel": c.channel,
                    "status": c.status,
                    "started_at": c.started_at,
                    "report": None if c.report is None else report_counts(c.report),
                }
                for c in compared
            ]
        }
        return Response(CampaignComparisonSerializer(body).data)
