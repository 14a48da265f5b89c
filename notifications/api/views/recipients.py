"""Recipients: list (filters, search), create, read, change, delete, and bulk upsert."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.recipients.reading import RecipientRow, RejectedRow
from notifications.recipients.services import recipient_delete, recipient_save
from notifications.recipients.upsert import recipients_upsert

from ...models import Recipient
from ..serializers.recipients import (
    BulkAnswerSerializer,
    BulkRecipientItemSerializer,
    BulkRecipientsDocSerializer,
    BulkRecipientsSerializer,
    RecipientFilterSerializer,
    RecipientSerializer,
)
from .base import ApiViewSet


@extend_schema_view(list=extend_schema(parameters=[RecipientFilterSerializer]))
class RecipientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Recipients: list (filters, search), create, read, change, delete, bulk upsert."""

    serializer_class = RecipientSerializer
    lookup_value_regex = r"\d+"
    # Bulk creates and updates, as the admin's CSV import, which asks for both.
    action_permissions = {"bulk": ("add", "change")}

    def get_queryset(self) -> QuerySet[Recipient]:
        return Recipient.objects.prefetch_related("addresses", "audiences")

    def filter_queryset(self, queryset: QuerySet[Recipient]) -> QuerySet[Recipient]:
        if self.action != "list":
            return queryset
        wanted = self.filters(RecipientFilterSerializer)
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

    def perform_create(self, serializer: RecipientSerializer) -> None:
        data = dict(serializer.validated_data)
        addresses = data.pop("addresses", None)
        serializer.instance = recipient_save(recipient=None, data=data, addresses=addresses)

    def perform_update(self, serializer: RecipientSerializer) -> None:
        data = dict(serializer.validated_data)
        addresses = data.pop("addresses", None)
        serializer.instance = recipient_save(
            recipient=serializer.instance, data=data, addresses=addresses
        )
        # The prefetched addresses are stale after the save.
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance: Recipient) -> None:
        recipient_delete(recipient=instance)

    @extend_schema(request=BulkRecipientsDocSerializer, responses=BulkAnswerSerializer)
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Create or update up to API_MAX_BATCH recipients by external_id; per-item outcome."""
        envelope = BulkRecipientsSerializer(data=request.data)
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
    checked = BulkRecipientItemSerializer(data=item)
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
        timezone=data.get("timezone", ""),
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
