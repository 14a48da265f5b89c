"""Transactional messages: one send now, replayed for a repeated Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.campaigns.direct import message_send

from ...models import Campaign, IntegrationKey
from ..idempotency import idempotent_call
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
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="Repeats within the replay window return the first answer.",
            )
        ],
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

        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            status_code, body = send()
            return Response(body, status=status_code)
        if len(key) > 255:
            raise serializers.ValidationError(
                {"Idempotency-Key": ["Ensure this header has no more than 255 characters."]}
            )
        answer = idempotent_call(
            owner=_owner(request),
            key=key,
            fingerprint=_fingerprint(request),
            action=send,
            ttl=timedelta(hours=settings.API_IDEMPOTENCY_HOURS),
        )
        response = Response(answer.body, status=answer.status_code)
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _owner(request: Request) -> str:
    if isinstance(request.auth, IntegrationKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request: Request) -> str:
    # Parsed and re-serialised with sorted keys: the same JSON with other spacing is the same.
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
