"""Deliveries and delivery events: read-only, newest first, by cursor pages, with filters."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from ...models import Delivery, DeliveryEvent
from ..serializers.history import (
    DeliveryEventSerializer,
    DeliveryFilterSerializer,
    DeliverySerializer,
    EventFilterSerializer,
)
from .base import ApiViewSet

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


@extend_schema_view(list=extend_schema(parameters=[DeliveryFilterSerializer]))
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Deliveries, read-only, newest first, by cursor pages."""

    serializer_class = DeliverySerializer
    queryset = Delivery.objects.select_related("recipient")
    lookup_value_regex = r"\d+"

    def filter_queryset(self, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        if self.action != "list":
            return queryset
        return _history_filters(queryset, self.filters(DeliveryFilterSerializer), "updated_at")


@extend_schema_view(list=extend_schema(parameters=[EventFilterSerializer]))
class DeliveryEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The delivery history and SMS callbacks, read-only, newest first, by cursor pages."""

    serializer_class = DeliveryEventSerializer
    queryset = DeliveryEvent.objects.all()
    lookup_value_regex = r"\d+"

    def filter_queryset(self, queryset: QuerySet[DeliveryEvent]) -> QuerySet[DeliveryEvent]:
        if self.action != "list":
            return queryset
        return _history_filters(queryset, self.filters(EventFilterSerializer), "occurred_at")
