"""Message templates and their preview for one recipient on every channel."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.content.preview import message_preview
from notifications.content.rendering import (
    template_fields,
)
from notifications.content.services import message_template_delete, message_template_save
from notifications.providers.registry import PROVIDERS

from ...models import MessageTemplate, Recipient
from ..serializers.templates import (
    MessageTemplateSerializer,
    PreviewAnswerSerializer,
    PreviewRequestSerializer,
)
from .base import ApiViewSet


class MessageTemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Message templates, checked as the admin checks them, and their preview."""

    serializer_class = MessageTemplateSerializer
    queryset = MessageTemplate.objects.all()
    lookup_value_regex = r"\d+"
    # A preview changes nothing: the admin shows it to whoever may view the template.
    action_permissions = {"preview": ("view",)}

    def perform_create(self, serializer: MessageTemplateSerializer) -> None:
        serializer.instance = message_template_save(
            template=None, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: MessageTemplateSerializer) -> None:
        serializer.instance = message_template_save(
            template=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: MessageTemplate) -> None:
        message_template_delete(template=instance)

    @extend_schema(
        request=PreviewRequestSerializer,
        responses=PreviewAnswerSerializer,
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        """The template rendered for one recipient on every channel, or why it cannot be."""
        template = self.get_object()
        ask = PreviewRequestSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        recipient = Recipient.objects.filter(external_id=ask.validated_data["recipient"]).first()
        if recipient is None:
            raise serializers.ValidationError(
                {
                    "recipient": [
                        _("No recipient has external_id %(external_id)s.")
                        % {"external_id": ask.validated_data["recipient"]}
                    ]
                }
            )
        answer = {}
        for channel in PROVIDERS:
            preview = message_preview(
                fields=template_fields(template), channel=channel, recipient=recipient
            )
            content = None if preview.errors else dict(preview.fields)
            answer[channel] = {"content": content, "errors": preview.errors}
        return Response(answer)
