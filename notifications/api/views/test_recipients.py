"""The test lists through the API: the caller's own and the shared one.

A member of staff keeps their own list with the permission to view recipients, and changes the
shared one with the test recipients' add and delete permissions, as in the admin. An API key
is not a person: it has no list of its own, and manages the shared one if it may write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.errors import InvalidInput
from notifications.recipients.seeds import seed_recipients_add, seed_recipients_remove

from ...models import IntegrationKey, Recipient, SeedRecipient
from ..serializers.base import MAX_ID
from ..serializers.test_recipients import TestRecipientAddSerializer, TestRecipientSerializer
from .base import ApiViewSet


class TestRecipientViewSet(
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """The caller's test list and the shared one: list, add by external_id, remove."""

    serializer_class = TestRecipientSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[SeedRecipient]:
        listed = SeedRecipient.objects.select_related("recipient")
        if _is_key(self.request):
            return listed.filter(owner__isnull=True)
        return listed.filter(Q(owner__isnull=True) | Q(owner=self.request.user))

    def permission_needs(self, request: Request) -> tuple[type[Model], tuple[str, ...]]:
        if self.action == "create":
            shared = _is_key(request) or _asks_shared(request.data)
            return (SeedRecipient, ("add",)) if shared else (Recipient, ("view",))
        if self.action == "destroy":
            # An entry that is not on the shared list is the caller's own, or not theirs to
            # see (404 once past here).
            shared = (
                _is_key(request)
                or SeedRecipient.objects.filter(
                    pk=_id(self.kwargs.get("pk")), owner__isnull=True
                ).exists()
            )
            return (SeedRecipient, ("delete",)) if shared else (Recipient, ("view",))
        return (Recipient, ("view",))

    @extend_schema(
        request=TestRecipientAddSerializer,
        responses={201: TestRecipientSerializer, 200: TestRecipientSerializer},
    )
    def create(self, request: Request) -> Response:
        """Put a recipient on your test list, or on the shared one (`shared`); 200 when they
        are on it already. A list holds at most 50 people."""
        ask = TestRecipientAddSerializer(data=request.data)
        ask.is_valid(raise_exception=True)
        external_id, shared = ask.validated_data["external_id"], ask.validated_data["shared"]
        if _is_key(request) and not shared:
            raise serializers.ValidationError(
                {
                    "shared": [
                        _("An API key has no test list of its own: use the shared one (true).")
                    ]
                }
            )
        people = Recipient.objects.filter(external_id=external_id)
        if not people.exists():
            raise serializers.ValidationError(
                {
                    "external_id": [
                        _("No recipient has external_id %(external_id)s.")
                        % {"external_id": external_id}
                    ]
                }
            )
        owner = None if shared else request.user
        try:
            added = seed_recipients_add(recipients=people, owner=owner)
        except InvalidInput as refusal:
            # The one recipient asked for is the request's `external_id`.
            raise serializers.ValidationError({"external_id": refusal.messages}) from None
        entry = self.get_queryset().get(recipient__external_id=external_id, owner=owner)
        return Response(
            TestRecipientSerializer(entry).data,
            status=status.HTTP_201_CREATED if added else status.HTTP_200_OK,
        )

    def perform_destroy(self, instance: SeedRecipient) -> None:
        seed_recipients_remove(
            recipients=Recipient.objects.filter(pk=instance.recipient_id), owner=instance.owner
        )


def _is_key(request: Request) -> bool:
    return isinstance(request.auth, IntegrationKey)


def _asks_shared(data: Any) -> bool:
    """Whether the body asks for the shared list, read as its serializer reads `shared` (a
    value it refuses is refused there, with a 400)."""
    if not isinstance(data, Mapping):
        return False
    try:
        return serializers.BooleanField().to_internal_value(data.get("shared", False))
    except serializers.ValidationError:
        return False


def _id(value: Any) -> int:
    # The route allows digits only; a number past the largest id names nothing.
    number = int(value or 0)
    return number if number <= MAX_ID else 0
