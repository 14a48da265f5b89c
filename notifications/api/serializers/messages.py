"""Transactional messages: one send to up to `API_MAX_BATCH` recipients, and its answer."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.content.checks import channel_template_errors, template_errors
from notifications.content.rendering import TEMPLATE_FIELDS, template_fields
from notifications.recipients.selectors import recipient_attribute_names

from ...models import Channel, Delivery, MessageTemplate, Recipient
from .base import MAX_BATCH, MAX_TEXT, StrictSerializer


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
        max_length=MAX_BATCH,
        help_text="external_ids",
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=MessageTemplate.objects.all(), required=False, allow_null=True
    )
    content = MessageContentSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        template, content = attrs.get("template"), attrs.get("content")
        if (template is None) == (content is None):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either a template or a content, not both."]}
            )
        source = "template" if template is not None else "content"
        fields = template_fields(template) if template is not None else dict(content)
        fields = {name: fields.get(name) or "" for name in TEMPLATE_FIELDS}
        problems = template_errors(fields, known_variables=recipient_attribute_names())
        for field, messages in channel_template_errors(attrs["channel"], fields).items():
            problems.setdefault(field, []).extend(messages)
        if problems:
            if source == "content":
                raise serializers.ValidationError({"content": problems})
            raise serializers.ValidationError(
                {
                    "template": [
                        f"{field}: {message}"
                        for field, messages in problems.items()
                        for message in messages
                    ]
                }
            )
        wanted = set(attrs["recipients"])
        known = set(
            Recipient.objects.filter(external_id__in=wanted).values_list("external_id", flat=True)
        )
        unknown = sorted(wanted - known)
        if unknown:
            raise serializers.ValidationError(
                {"recipients": ["No recipient has external_id " + ", ".join(unknown) + "."]}
            )
        return attrs


class MessageDeliverySerializer(serializers.ModelSerializer):
    """One delivery of a transactional message."""

    recipient = serializers.CharField(source="recipient.external_id")

    class Meta:
        model = Delivery
        fields = ["id", "recipient", "address", "status", "error"]


class MessageAnswerSerializer(serializers.Serializer):
    """The message accepted: its campaign and one delivery per recipient."""

    campaign = serializers.IntegerField()
    status = serializers.CharField()
    deliveries = MessageDeliverySerializer(many=True)
