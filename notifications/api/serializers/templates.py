"""Message templates, checked as the admin checks them, and their preview on every channel."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.content.checks import message_template_errors
from notifications.content.rendering import TEMPLATE_FIELDS, template_fields
from notifications.providers.registry import PROVIDERS

from ...models import MessageTemplate
from .base import MAX_TEXT, StrictModelSerializer, StrictSerializer


class MessageTemplateSerializer(StrictModelSerializer):
    """A message template, checked like the admin checks it."""

    body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)

    class Meta:
        model = MessageTemplate
        fields = ["id", "name", *TEMPLATE_FIELDS, "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = template_fields(self.instance) if self.instance else {}
        fields = {name: attrs.get(name, current.get(name, "")) or "" for name in TEMPLATE_FIELDS}
        errors = message_template_errors(fields, template=self.instance)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PreviewRequestSerializer(StrictSerializer):
    """Whom to render a template for."""

    recipient = serializers.CharField(max_length=255, help_text="The recipient's external_id.")


class ChannelPreviewSerializer(serializers.Serializer):
    """A template rendered for one channel: the content sent, or why it cannot be."""

    content = serializers.DictField(child=serializers.CharField(), allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class PreviewAnswerSerializer(serializers.Serializer):
    """The preview on every channel."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # One field per registered channel: a fifth provider appears here by itself.
        return {channel: ChannelPreviewSerializer() for channel in PROVIDERS}
