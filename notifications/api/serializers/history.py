"""Deliveries and the delivery history, read-only, and the filters of their lists."""

from __future__ import annotations

from rest_framework import serializers

from ...models import Delivery, DeliveryEvent
from .base import MAX_ID, ReasonCodeField, ReasonField


class DeliverySerializer(serializers.ModelSerializer):
    """One message of one campaign to one recipient, and where it stands."""

    recipient_external_id = serializers.CharField(source="recipient.external_id")
    error = ReasonField(help_text="Why it was skipped or failed, in the request's language.")
    error_code = ReasonCodeField(
        source="error",
        help_text="Why it was skipped or failed, as a stable code (`opted_out`, `gave_up`, ...); "
        "null when the text is the provider's own answer.",
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "campaign",
            "recipient",
            "recipient_external_id",
            "address",
            "status",
            "attempts",
            "next_attempt_at",
            "content",
            "provider_response",
            "error",
            "error_code",
            "sent_at",
            "created_at",
            "updated_at",
        ]


class DeliveryEventSerializer(serializers.ModelSerializer):
    """One entry of the append-only history."""

    detail = ReasonField(help_text="What happened, in the request's language.")
    detail_code = ReasonCodeField(
        source="detail",
        help_text="What happened, as a stable code (`paused_by`, `opted_out`, ...); null when "
        "the text is a provider's or a person's own.",
    )

    class Meta:
        model = DeliveryEvent
        fields = [
            "id",
            "type",
            "occurred_at",
            "campaign",
            "delivery",
            "recipient",
            "detail",
            "detail_code",
            "data",
            "sms_id",
            "link",
            "created_at",
        ]


class HistoryFilterSerializer(serializers.Serializer):
    """Query parameters shared by deliveries and events; the time range is inclusive."""

    campaign = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    recipient = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    recipient_external_id = serializers.CharField(required=False, max_length=255)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class DeliveryFilterSerializer(HistoryFilterSerializer):
    """Query parameters of the delivery list (time range on `updated_at`)."""

    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)


class EventFilterSerializer(HistoryFilterSerializer):
    """Query parameters of the event list (time range on `occurred_at`)."""

    type = serializers.CharField(required=False, max_length=32)
    delivery = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
