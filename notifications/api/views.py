"""API views: check the request, call a service, describe the result. No business logic here.

A refused campaign transition (`TransitionError`) is 409 with the service's sentence; a reused
Idempotency-Key with a different request is 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Model, Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..importing import RecipientRow, RejectedRow
from ..models import (
    Audience,
    Campaign,
    Delivery,
    DeliveryEvent,
    IntegrationKey,
    MessageTemplate,
    Recipient,
)
from ..rendering import (
    CHANNEL_FIELDS,
    RenderError,
    compile_template,
    recipient_context,
    render_for_channel,
    template_fields,
)
from ..selectors import campaign_progress, campaigns_audience_sizes, send_eta_seconds
from ..services import (
    TransitionError,
    audience_delete,
    audience_members_change,
    audience_save,
    campaign_cancel,
    campaign_delete,
    campaign_dispatch,
    campaign_pause,
    campaign_resume,
    campaign_retry_failed,
    campaign_save,
    message_send,
    message_template_delete,
    message_template_save,
    recipient_delete,
    recipient_save,
    recipients_upsert,
)
from ..sms import campaign_sms_stats
from . import serializers as api
from .authentication import ApiKeyAuthentication
from .idempotency import IdempotencyMismatch, idempotent_call
from .pagination import IdCursorPagination
from .permissions import IntegrationAccess
from .throttling import ApiKeyRateThrottle


class Conflict(exceptions.APIException):
    """The resource's state does not allow this request now (a campaign transition)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    """The Idempotency-Key was first used with another request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with a different request."
    default_code = "idempotency_key_reused"


class ApiView(APIView):
    """Authentication, permissions, throttling and error mapping every API route shares."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IntegrationAccess]
    throttle_classes = [ApiKeyRateThrottle]
    pagination_class = IdCursorPagination
    # What a staff session needs, per action, where the admin asks for other permissions than
    # the HTTP method's (see permissions.py): verbs on the view's model, as `("dispatch",)`.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {}
    # The model of those permissions; a viewset's is its queryset's.
    permission_model: ClassVar[type[Model] | None] = None

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TransitionError):
            exc = Conflict(str(exc))
        elif isinstance(exc, IdempotencyMismatch):
            exc = IdempotencyKeyReused(str(exc))
        elif isinstance(exc, DjangoValidationError):
            exc = serializers.ValidationError(exc.message_dict if exc.error_dict else exc.messages)
        return super().handle_exception(exc)

    def filters(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The list's query parameters, checked (400 naming the bad one)."""
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return {name: value for name, value in query.validated_data.items() if value is not None}


class ApiViewSet(ApiView, viewsets.GenericViewSet):
    """A viewset with the shared API behaviour."""


# --- Recipients -----------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[api.RecipientFilterSerializer]))
class RecipientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Recipients: list (filters, search), create, read, change, delete, bulk upsert."""

    serializer_class = api.RecipientSerializer
    lookup_value_regex = r"\d+"
    # Bulk creates and updates, as the admin's CSV import, which asks for both.
    action_permissions = {"bulk": ("add", "change")}

    def get_queryset(self) -> QuerySet[Recipient]:
        return Recipient.objects.prefetch_related("addresses", "audiences")

    def filter_queryset(self, queryset: QuerySet[Recipient]) -> QuerySet[Recipient]:
        if self.action != "list":
            return queryset
        wanted = self.filters(api.RecipientFilterSerializer)
        for name in ("external_id", "phone"):
            if name in wanted:
                queryset = queryset.filter(**{name: wanted[name]})
        if "audience" in wanted:
            queryset = queryset.filter(audiences=wanted["audience"])
        if "opted_out" in wanted:
            queryset = queryset.filter(opted_out_at__isnull=not wanted["opted_out"])
        if wanted.get("search"):
            term = wanted["search"]
            queryset = queryset.filter(
                Q(external_id__icontains=term)
                | Q(phone__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
            )
        return queryset

    def perform_create(self, serializer: api.RecipientSerializer) -> None:
        data = dict(serializer.validated_data)
        addresses = data.pop("addresses", None)
        serializer.instance = recipient_save(recipient=None, data=data, addresses=addresses)

    def perform_update(self, serializer: api.RecipientSerializer) -> None:
        data = dict(serializer.validated_data)
        addresses = data.pop("addresses", None)
        serializer.instance = recipient_save(
            recipient=serializer.instance, data=data, addresses=addresses
        )
        # The prefetched addresses are stale after the save.
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance: Recipient) -> None:
        recipient_delete(recipient=instance)

    @extend_schema(request=api.BulkRecipientsDocSerializer, responses=api.BulkAnswerSerializer)
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Create or update up to API_MAX_BATCH recipients by external_id; per-item outcome."""
        envelope = api.BulkRecipientsSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        rows: list[RecipientRow | RejectedRow] = []
        for index, item in enumerate(envelope.validated_data["recipients"]):
            rows.append(_bulk_row(index, item))
        results = recipients_upsert(rows=rows, audience=envelope.validated_data.get("audience"))
        counts = dict.fromkeys(("created", "updated", "rejected"), 0)
        for result in results:
            counts[result.result] += 1
        return Response(
            {
                **counts,
                "results": [
                    {
                        "index": result.index,
                        "external_id": result.external_id,
                        "result": result.result,
                        "reason": result.reason,
                    }
                    for result in results
                ],
            }
        )


def _bulk_row(index: int, item: Any) -> RecipientRow | RejectedRow:
    """One bulk item as an import row, or the reason it is refused."""
    checked = api.BulkRecipientItemSerializer(data=item)
    if not checked.is_valid():
        external_id = item.get("external_id") if isinstance(item, dict) else None
        return RejectedRow(index, _reason(checked.errors), str(external_id or ""))
    data = checked.validated_data
    return RecipientRow(
        line=index,
        external_id=data["external_id"].strip(),
        phone=data.get("phone", ""),
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        addresses=data.get("addresses", {}),
        attributes=data.get("attributes", {}),
    )


def _reason(errors: Any) -> str:
    """DRF errors as one sentence per field: `phone: '12' is not a phone number ...`."""
    if isinstance(errors, dict):
        return "; ".join(f"{name}: {_reason(messages)}" for name, messages in errors.items())
    if isinstance(errors, list):
        return " ".join(_reason(message) for message in errors)
    return str(errors)


# --- Templates ------------------------------------------------------------------------------


class AudienceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Audiences, and their members by external_id."""

    serializer_class = api.AudienceSerializer
    queryset = Audience.objects.annotate(member_count=Count("audiencemember")).order_by("id")
    lookup_value_regex = r"\d+"
    # Members are the audience's own many-to-many field: the admin edits them with the audience.
    action_permissions = {"members": ("change",)}

    def perform_create(self, serializer: api.AudienceSerializer) -> None:
        saved = audience_save(audience=None, data=dict(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_update(self, serializer: api.AudienceSerializer) -> None:
        saved = audience_save(audience=serializer.instance, data=dict(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_destroy(self, instance: Audience) -> None:
        audience_delete(audience=instance)

    @extend_schema(request=api.MembersChangeSerializer, responses=api.MembersChangedSerializer)
    @action(detail=True, methods=["post"])
    def members(self, request: Request, pk: str) -> Response:
        """Add and remove recipients by external_id; unknown ones are refused, nothing changes."""
        audience = self.get_object()
        ask = api.MembersChangeSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        try:
            changed = audience_members_change(
                audience=audience,
                add=ask.validated_data.get("add", []),
                remove=ask.validated_data.get("remove", []),
            )
        except TransitionError as exc:
            raise serializers.ValidationError({"recipients": [str(exc)]}) from None
        return Response(changed)


class MessageTemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Message templates, checked as the admin checks them, and their preview."""

    serializer_class = api.MessageTemplateSerializer
    queryset = MessageTemplate.objects.all()
    lookup_value_regex = r"\d+"
    # A preview changes nothing: the admin shows it to whoever may view the template.
    action_permissions = {"preview": ("view",)}

    def perform_create(self, serializer: api.MessageTemplateSerializer) -> None:
        serializer.instance = message_template_save(
            template=None, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: api.MessageTemplateSerializer) -> None:
        serializer.instance = message_template_save(
            template=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: MessageTemplate) -> None:
        message_template_delete(template=instance)

    @extend_schema(
        request=api.PreviewRequestSerializer,
        responses=api.PreviewAnswerSerializer,
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        """The template rendered for one recipient on every channel, or why it cannot be."""
        template = self.get_object()
        ask = api.PreviewRequestSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        recipient = Recipient.objects.filter(external_id=ask.validated_data["recipient"]).first()
        if recipient is None:
            raise serializers.ValidationError(
                {"recipient": [f"No recipient has external_id {ask.validated_data['recipient']}."]}
            )
        context = recipient_context(recipient)
        answer = {}
        for channel in CHANNEL_FIELDS:
            try:
                content = render_for_channel(
                    compile_template(template_fields(template)), channel, context
                )
            except RenderError as exc:
                answer[channel] = {"content": None, "errors": {exc.field: [exc.message]}}
            else:
                fields = CHANNEL_FIELDS[channel]
                answer[channel] = {
                    "content": {name: getattr(content, name) for name in fields},
                    "errors": {},
                }
        return Response(answer)


# --- Campaigns ------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[api.CampaignFilterSerializer]))
class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Campaigns: change them while draft, then dispatch, pause, resume, cancel, retry."""

    serializer_class = api.CampaignSerializer
    lookup_value_regex = r"\d+"
    # Every move of a campaign's life is behind the admin's sending buttons' permission.
    action_permissions = {
        "dispatch_campaign": ("dispatch",),
        "pause": ("dispatch",),
        "resume": ("dispatch",),
        "cancel": ("dispatch",),
        "retry_failed": ("dispatch",),
    }

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.prefetch_related("audiences")

    def filter_queryset(self, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        if self.action != "list":
            return queryset
        return queryset.filter(**self.filters(api.CampaignFilterSerializer))

    def _save(self, serializer: api.CampaignSerializer, campaign_id: int | None) -> None:
        data = dict(serializer.validated_data)
        audiences = data.pop("audiences", None)
        campaign = campaign_save(
            campaign_id=campaign_id, data=data, audiences=audiences, user=self.request.user
        )
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    def perform_create(self, serializer: api.CampaignSerializer) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: api.CampaignSerializer) -> None:
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance: Campaign) -> None:
        campaign_delete(campaign_id=instance.pk)

    def _answer(self, campaign_id: int) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=campaign_id)).data)

    def _transition(self, request: Request, service: Callable[..., Campaign]) -> Response:
        """Call a bodiless lifecycle service on this campaign and answer with the campaign."""
        campaign = self.get_object()
        self._no_body(request)
        service(campaign_id=campaign.pk, user=request.user)
        return self._answer(campaign.pk)

    def _no_body(self, request: Request) -> None:
        api.EmptySerializer(data=request.data).is_valid(raise_exception=True)

    @extend_schema(request=api.DispatchSerializer, responses=api.CampaignSerializer)
    # Not named `dispatch`: that would replace the view's own request dispatch.
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_campaign(self, request: Request, pk: str) -> Response:
        """Send the draft now, or schedule it; the content and audience freeze."""
        campaign = self.get_object()
        ask = api.DispatchSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        campaign_dispatch(
            campaign_id=campaign.pk,
            user=request.user,
            scheduled_at=ask.validated_data.get("scheduled_at"),
        )
        return self._answer(campaign.pk)

    @extend_schema(request=api.EmptySerializer, responses=api.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        """Stop new sends at once."""
        return self._transition(request, campaign_pause)

    @extend_schema(request=api.EmptySerializer, responses=api.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Continue a paused campaign where it stopped."""
        return self._transition(request, campaign_resume)

    @extend_schema(request=api.EmptySerializer, responses=api.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop for good; what has not gone out is cancelled."""
        return self._transition(request, campaign_cancel)

    @extend_schema(request=api.EmptySerializer, responses=api.RetriedSerializer)
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request: Request, pk: str) -> Response:
        """Send the failed deliveries again."""
        campaign = self.get_object()
        self._no_body(request)
        return Response({"retried": campaign_retry_failed(campaign_id=campaign.pk)})

    @extend_schema(responses=api.CampaignStatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str) -> Response:
        """Deliveries by status, SMS sent/lost/clicked, the fraction done, and the least time
        the rest takes within the provider's limits (`eta_seconds`, null if unknown)."""
        campaign = self.get_object()
        counts = campaign_progress(campaign_id=campaign.pk)
        sms = campaign_sms_stats(campaign_id=campaign.pk)
        if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
            eta = 0.0
        else:
            left = counts["pending"] + counts["sending"]
            if campaign.materialised_at is None:
                # Members, not distinct people: someone in two of its audiences counts twice
                # and the estimate errs long. Counting people joined and sorted a million
                # recipients (3.3 s); this is one aggregate over the memberships (0.2 s).
                left = campaigns_audience_sizes(campaign_ids=[campaign.pk])[campaign.pk]
            content = campaign.content or template_fields(campaign.template)
            eta = send_eta_seconds(
                channel=campaign.channel, content=content, messages=left, campaign=campaign
            )
        return Response(
            {
                "campaign": campaign.pk,
                "status": campaign.status,
                "deliveries": counts,
                "sms": {
                    "sent": sms.sent,
                    "lost": sms.lost,
                    "delivered": sms.delivered,
                    "clicked": sms.clicked,
                    "click_through_rate": sms.click_through_rate,
                },
                "progress": counts["done"] / counts["total"] if counts["total"] else 0.0,
                "eta_seconds": eta,
            }
        )


# --- Transactional messages -----------------------------------------------------------------


class MessageView(ApiView):
    """Send one message now to up to API_MAX_BATCH recipients (a transactional campaign)."""

    # A message is a campaign sent at once, as the admin's test send, which asks to dispatch.
    permission_model = Campaign
    action_permissions = {"post": ("dispatch",)}

    @extend_schema(
        request=api.MessageSerializer,
        responses={202: api.MessageAnswerSerializer},
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
            ask = api.MessageSerializer(data=request.data)
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
                "deliveries": api.MessageDeliverySerializer(deliveries, many=True).data,
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


# --- History --------------------------------------------------------------------------------


_HISTORY_COLUMNS = {
    "campaign": "campaign_id",
    "recipient": "recipient_id",
    "delivery": "delivery_id",
    "status": "status",
    "type": "type",
    "recipient_external_id": "recipient__external_id",
}


def _history_filters(queryset: QuerySet, wanted: dict[str, Any], time_field: str) -> QuerySet:
    for name, column in _HISTORY_COLUMNS.items():
        if name in wanted:
            queryset = queryset.filter(**{column: wanted[name]})
    if "since" in wanted:
        queryset = queryset.filter(**{f"{time_field}__gte": wanted["since"]})
    if "until" in wanted:
        queryset = queryset.filter(**{f"{time_field}__lte": wanted["until"]})
    return queryset


@extend_schema_view(list=extend_schema(parameters=[api.DeliveryFilterSerializer]))
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Deliveries, read-only, newest first, by cursor pages."""

    serializer_class = api.DeliverySerializer
    queryset = Delivery.objects.select_related("recipient")
    lookup_value_regex = r"\d+"

    def filter_queryset(self, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        if self.action != "list":
            return queryset
        return _history_filters(queryset, self.filters(api.DeliveryFilterSerializer), "updated_at")


@extend_schema_view(list=extend_schema(parameters=[api.EventFilterSerializer]))
class DeliveryEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The delivery history and SMS callbacks, read-only, newest first, by cursor pages."""

    serializer_class = api.DeliveryEventSerializer
    queryset = DeliveryEvent.objects.all()
    lookup_value_regex = r"\d+"

    def filter_queryset(self, queryset: QuerySet[DeliveryEvent]) -> QuerySet[DeliveryEvent]:
        if self.action != "list":
            return queryset
        return _history_filters(queryset, self.filters(api.EventFilterSerializer), "occurred_at")
