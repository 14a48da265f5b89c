"""Webhook endpoints and their message log in the REST API (`/api/webhook-endpoints/`,
`/api/webhook-messages/`), through the same services and permissions as the admin."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.api.serializers.base import (
    MAX_ID,
    EmptySerializer,
    ReasonCodeField,
    ReasonField,
    StrictModelSerializer,
)
from notifications.api.views.base import ApiViewSet

from .events import EVENT_TYPES
from .models import Endpoint, Message
from .services import (
    endpoint_create,
    endpoint_delete,
    endpoint_secret_roll,
    endpoint_update,
    messages_resend,
)


class EndpointSerializer(StrictModelSerializer):
    """An endpoint; its secret is shown when it is made and when it is rolled, not in lists."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)), allow_empty=False
    )
    disabled_reason = ReasonField(help_text="Why it is off, in the request's language.")
    disabled_reason_code = ReasonCodeField(
        source="disabled_reason",
        help_text="Why it is off, as a stable code (`endpoint_turned_off`, `endpoint_failing`).",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_reason",
            "disabled_reason_code",
            "disabled_at",
            "failing_since",
            "created_at",
        ]
        read_only_fields = ["disabled_reason", "disabled_at", "failing_since", "created_at"]


class EndpointWithSecretSerializer(EndpointSerializer):
    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*EndpointSerializer.Meta.read_only_fields, "secret"]


class MessageSerializer(serializers.ModelSerializer):
    """One POST owed or made to an endpoint; `body` is what is sent, as JSON."""

    body = serializers.SerializerMethodField()
    last_answer = ReasonField(
        help_text="The receiver's answer as it gave it, or what kept the request from one, in "
        "the request's language."
    )
    last_answer_code = ReasonCodeField(
        source="last_answer",
        help_text="What kept the request from an answer, as a stable code (`no_answer`, "
        "`not_requested`, `redirect_not_followed`); null for the receiver's own answer.",
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "endpoint",
            "campaign",
            "first_event_id",
            "last_event_id",
            "event_count",
            "status",
            "attempts",
            "next_attempt_at",
            "first_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_answer",
            "last_answer_code",
            "delivered_at",
            "created_at",
            "body",
        ]

    def get_body(self, obj: Message) -> dict[str, Any]:
        return json.loads(obj.body)


class MessageFilterSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=Message.Status.choices, required=False)


class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Endpoints that receive campaign events, signed with their secret."""

    queryset = Endpoint.objects.all()
    lookup_value_regex = r"\d+"
    action_permissions = {"roll_secret": ("change",)}

    serializer_class = EndpointSerializer

    @extend_schema(responses={201: EndpointWithSecretSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new endpoint; the answer carries its secret (lists do not)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(
            EndpointWithSecretSerializer(serializer.instance).data, status=status.HTTP_201_CREATED
        )

    def perform_create(self, serializer: EndpointSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = endpoint_create(
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
            user=self.request.user,
        )
        if "is_active" in data and not data["is_active"]:
            endpoint_update(endpoint=serializer.instance, data={"is_active": False})

    def perform_update(self, serializer: EndpointSerializer) -> None:
        serializer.instance = endpoint_update(
            endpoint=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: Endpoint) -> None:
        endpoint_delete(endpoint=instance)

    @extend_schema(request=EmptySerializer, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="roll-secret")
    def roll_secret(self, request: Request, pk: str) -> Response:
        """A new secret, signing every request from the next one on."""
        endpoint = self.get_object()
        self.no_body(request)
        endpoint = endpoint_secret_roll(endpoint=endpoint)
        return Response(EndpointWithSecretSerializer(endpoint).data)


@extend_schema_view(list=extend_schema(parameters=[MessageFilterSerializer]))
class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """What was sent to each endpoint, newest first: status, attempts, the last answer."""

    serializer_class = MessageSerializer
    queryset = Message.objects.all()
    lookup_value_regex = r"\d+"

    def permission_needs(self, request: Request) -> tuple[type[Model], tuple[str, ...]] | None:
        # Sending again is the admin's *Resend*: it asks to change the endpoint.
        if self.action == "resend":
            return Endpoint, ("change",)
        return None

    def filter_queryset(self, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.action != "list":
            return queryset
        return queryset.filter(**self.filters(MessageFilterSerializer))

    @extend_schema(request=EmptySerializer, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        """Send this message again, before its campaign's later messages still waiting."""
        message = self.get_object()
        self.no_body(request)
        messages_resend(message_ids=[message.pk])
        message.refresh_from_db()
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)
