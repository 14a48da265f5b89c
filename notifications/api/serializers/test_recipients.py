"""The test lists: an entry names a recipient on the caller's own list or the shared one."""

from __future__ import annotations

from rest_framework import serializers

from ...models import SeedRecipient
from .base import StrictSerializer


class TestRecipientSerializer(serializers.ModelSerializer):
    """A recipient on a test list: the caller's own, or the shared one everyone's tests use."""

    external_id = serializers.CharField(source="recipient.external_id")
    shared = serializers.SerializerMethodField()

    class Meta:
        model = SeedRecipient
        fields = ["id", "recipient", "external_id", "shared", "added_at"]

    def get_shared(self, entry: SeedRecipient) -> bool:
        return entry.owner_id is None


class TestRecipientAddSerializer(StrictSerializer):
    """Who to put on a test list, and which list."""

    external_id = serializers.CharField(max_length=255)
    shared = serializers.BooleanField(
        required=False,
        default=False,
        help_text="On the shared list everyone's tests use, rather than your own. An API key "
        "has no list of its own and must say true.",
    )
