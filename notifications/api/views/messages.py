"""Transactional messages: one send now, replayed for a repeated Idempotency-Key."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.campaigns.direct import message_send

from ...models import Campaign
from ..idempotency import IDEMPOTENCY_KEY, idempotent_response
from ..serializers.messages import (
    MessageAnswerSerializer,
    MessageDeliverySerializer,
    MessageSerializer,
)
from .base import ApiView


class MessageView(ApiView):
    """Send one message now to up to API_MAX_BATCH recipients (a transactional campaign)."""

    # A message is a campaign sent at once, as the admin's test send, which asks to dispatch.
    permission_model = Campaign
    action_permissions = {"post": ("dispatch",)}

    @extend_schema(
        request=MessageSerializer,
        responses={202: MessageAnswerSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request) -> Response:
        def send() -> tuple[int, Any]:
            ask = MessageSerializer(data=request.data)
            ask.is_valid(raise_exception=True)
            data = ask.validated_data
            message = message_send(
                channel=data["channel"],
                external_ids=data["recipients"],
                template=data.get("template"),
                content=dict(data["content"]) if "content" in data else None,
                send_window=data["send_window"],
                user=request.user,
            )
            deliveries = message.deliveries.select_related("recipient").order_by(
                "recipient__external_id"
            )
            answer = {
                "campaign": message.pk,
                "status": message.status,
                "deliveries": MessageDeliverySerializer(deliveries, many=True).data,
            }
            return status.HTTP_202_ACCEPTED, answer

        return idempotent_response(request, send)
