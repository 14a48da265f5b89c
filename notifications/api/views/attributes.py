"""The attribute registry: list, read, register, change a label or a type; never delete (the
values stay in recipients' attributes, and segments and templates name them)."""

from __future__ import annotations

from rest_framework import mixins

from notifications.recipients.attributes import recipient_attribute_save

from ...models import RecipientAttribute
from ..pagination import NameCursorPagination
from ..serializers.attributes import RecipientAttributeSerializer
from .base import ApiViewSet


class RecipientAttributeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    """Attributes: list, read, register, change a label or a type."""

    serializer_class = RecipientAttributeSerializer
    queryset = RecipientAttribute.objects.all()
    lookup_field = "name"
    lookup_value_regex = r"[A-Za-z_][A-Za-z0-9_]*"
    pagination_class = NameCursorPagination

    def perform_create(self, serializer: RecipientAttributeSerializer) -> None:
        serializer.instance = recipient_attribute_save(
            attribute=None, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: RecipientAttributeSerializer) -> None:
        serializer.instance = recipient_attribute_save(
            attribute=serializer.instance, data=dict(serializer.validated_data)
        )
