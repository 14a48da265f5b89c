"""Audiences, and their members by external_id."""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.audiences.services import (
    audience_delete,
    audience_members_change,
    audience_save,
)

from ...models import Audience
from ..serializers.audiences import (
    AudienceSerializer,
    MembersChangedSerializer,
    MembersChangeSerializer,
)
from .base import ApiViewSet


class AudienceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Audiences, and their members by external_id."""

    serializer_class = AudienceSerializer
    queryset = Audience.objects.annotate(member_count=Count("audiencemember")).order_by("id")
    lookup_value_regex = r"\d+"
    # Members are the audience's own many-to-many field: the admin edits them with the audience.
    action_permissions = {"members": ("change",)}

    def perform_create(self, serializer: AudienceSerializer) -> None:
        saved = audience_save(audience=None, data=dict(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_update(self, serializer: AudienceSerializer) -> None:
        saved = audience_save(audience=serializer.instance, data=dict(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_destroy(self, instance: Audience) -> None:
        audience_delete(audience=instance)

    @extend_schema(request=MembersChangeSerializer, responses=MembersChangedSerializer)
    @action(detail=True, methods=["post"])
    def members(self, request: Request, pk: str) -> Response:
        """Add and remove recipients by external_id; unknown ones are refused, nothing changes."""
        audience = self.get_object()
        ask = MembersChangeSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        changed = audience_members_change(
            audience=audience,
            add=ask.validated_data.get("add", []),
            remove=ask.validated_data.get("remove", []),
        )
        return Response(changed)
