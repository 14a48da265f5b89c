"""Campaigns compared: the ids asked for, and each campaign's report or none (not started)."""

from __future__ import annotations

from rest_framework import serializers

from notifications.campaigns.compare import MAX_COMPARED, MIN_COMPARED

from .campaigns import ReportRatesSerializer, SmsStatsSerializer


class CompareQuerySerializer(serializers.Serializer):
    """Query parameters of the comparison."""

    ids = serializers.CharField(
        help_text=f"{MIN_COMPARED} to {MAX_COMPARED} campaign ids separated by commas, in the "
        "order to compare them: `3,5,8`."
    )


class ComparedReportSerializer(serializers.Serializer):
    """A started campaign's counts and rates, as `GET /api/campaigns/{id}/report/` gives them
    (without the clicks by link)."""

    deliveries = serializers.DictField(child=serializers.IntegerField())
    reachable = serializers.IntegerField()
    sms = SmsStatsSerializer()
    rates = ReportRatesSerializer()


class ComparedCampaignSerializer(serializers.Serializer):
    """One campaign of the comparison; `report` is null when it never started (no
    deliveries were made), rather than a funnel of zeros."""

    campaign = serializers.IntegerField()
    name = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    report = ComparedReportSerializer(allow_null=True)


class CampaignComparisonSerializer(serializers.Serializer):
    """The campaigns in the order asked."""

    campaigns = ComparedCampaignSerializer(many=True)
