"""Transactional messages: one send to up to `MAX_MESSAGE_RECIPIENTS` recipients, and its answer.

The request is checked for its shape only; `message_send` refuses what cannot be sent (a
template and a content together, content the channel refuses, unknown recipients).
"""

from __future__ import annotations

from rest_framework import serializers

from notifications.campaigns.direct import MAX_MESSAGE_RECIPIENTS

from ...models import Channel, Delivery, MessageTemplate
from .base import MAX_TEXT, ReasonCodeField, ReasonField, StrictSerializer


class MessageContentSerializer(StrictSerializer):
    """Literal message content, in the template language like a template's fields."""

    title = serializers.CharField(required=False, allow_blank=True, max_length=500)
    body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    deeplink = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    file_uuid = serializers.CharField(required=False, allow_blank=True, max_length=255)
    avatar_url = serializers.CharField(required=False, allow_blank=True, max_length=2048)


class MessageSerializer(StrictSerializer):
    """One message to up to `API_MAX_BATCH` recipients now, from a template or literal content."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=255),
        min_length=1,
        max_length=MAX_MESSAGE_RECIPIENTS,
        help_text="external_ids",
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=MessageTemplate.objects.all(), required=False, allow_null=True
    )
    content = MessageContentSerializer(required=False)
    send_window = serializers.BooleanField(
        default=False,
        help_text="Send only inside the site's default send window, in each recipient's local "
        "time (their `timezone`, else the site's default zone). Off by default: a "
        "transactional message goes out at any hour.",
    )


class MessageDeliverySerializer(serializers.ModelSerializer):
    """One delivery of a transactional message."""

    recipient = serializers.CharField(source="recipient.external_id")
    error = ReasonField(help_text="Why it was skipped or failed, in the request's language.")
    error_code = ReasonCodeField(
        source="error",
        help_text="Why it was skipped or failed, as a stable code (`opted_out`, `gave_up`, ...); "
        "null when the text is the provider's own answer.",
    )

    class Meta:
        model = Delivery
        fields = ["id", "recipient", "address", "status", "error", "error_code"]


class MessageAnswerSerializer(serializers.Serializer):
    """The message accepted: its campaign and one delivery per recipient."""

    campaign = serializers.IntegerField()
    status = serializers.CharField()
    deliveries = MessageDeliverySerializer(many=True)
