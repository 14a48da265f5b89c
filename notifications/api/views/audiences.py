"""Audiences: static lists and segments, their members, and a preview of rules not saved yet."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.audiences.query import audience_people, rules_people
from notifications.audiences.rules import rules_clean
from notifications.audiences.services import (
    audience_delete,
    audience_members_change,
    audience_save,
)

from ...models import Audience, Recipient
from ..serializers.audiences import (
    AudiencePreviewAnswerSerializer,
    AudiencePreviewSerializer,
    AudienceSerializer,
    MembersChangedSerializer,
    MembersChangeSerializer,
    MembersFilterSerializer,
)
from ..serializers.recipients import RecipientSerializer
from .base import ApiViewSet

# Recipients a preview shows besides its count, as the admin's rule builder does.
PREVIEW_SAMPLE = 10


class AudienceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Audiences: static lists and segments, their members, and a preview of rules."""

    serializer_class = AudienceSerializer
    queryset = Audience.objects.order_by("id")
    lookup_value_regex = r"\d+"
    action_permissions = {
        # Members are the audience's own many-to-many field: the admin edits them with it.
        "members_change": ("change",),
        # A preview saves nothing: whoever may see audiences may try rules.
        "preview": ("view",),
    }

    def perform_create(self, serializer: AudienceSerializer) -> None:
        saved = audience_save(audience=None, data=dict(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_update(self, serializer: AudienceSerializer) -> None:
        saved = audience_save(audience=serializer.instance, data=dict(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_destroy(self, instance: Audience) -> None:
        audience_delete(audience=instance)

    @extend_schema(parameters=[MembersFilterSerializer], responses=RecipientSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str) -> Response:
        """The audience's recipients now (a segment's, by its rules), newest first, by cursor
        pages; `search` finds an external_id or phone exactly, or part of a last name."""
        audience = self.get_object()
        people = _searched(audience_people(audience), self.filters(MembersFilterSerializer))
        page = self.paginate_queryset(people.prefetch_related("addresses", "audiences"))
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)

    @extend_schema(request=MembersChangeSerializer, responses=MembersChangedSerializer)
    @members.mapping.post
    def members_change(self, request: Request, pk: str) -> Response:
        """Add and remove a static audience's recipients by external_id; unknown ones are
        refused and nothing changes (a segment's members follow its rules: 400)."""
        audience = self.get_object()
        ask = MembersChangeSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        changed = audience_members_change(
            audience=audience,
            add=ask.validated_data.get("add", []),
            remove=ask.validated_data.get("remove", []),
        )
        return Response(changed)

    @extend_schema(request=AudiencePreviewSerializer, responses=AudiencePreviewAnswerSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """How many recipients rules select now, and the newest ten; nothing is saved. The
        rules are checked as saving a segment checks them (400 on `rules`, one sentence per
        problem)."""
        ask = AudiencePreviewSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        rules = rules_clean(
            ask.validated_data["rules"], audience=ask.validated_data.get("audience")
        )
        people = rules_people(rules)
        sample = people.prefetch_related("addresses", "audiences").order_by("-id")[:PREVIEW_SAMPLE]
        return Response(
            {
                "count": people.count(),
                "sample": RecipientSerializer(sample, many=True).data,
            }
        )


def _searched(people: QuerySet[Recipient], wanted: dict[str, str]) -> QuerySet[Recipient]:
    """Members found as the admin's recipient search finds them."""
    term = wanted.get("search")
    if not term:
        return people
    return people.filter(Q(external_id=term) | Q(phone=term) | Q(last_name__icontains=term))
