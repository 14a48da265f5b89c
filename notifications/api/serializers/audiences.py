"""Audiences, and the change of their members by external_id."""

from __future__ import annotations

from rest_framework import serializers

from ...models import Audience
from .base import StrictModelSerializer, StrictSerializer


class AudienceSerializer(StrictModelSerializer):
    """A named set of recipients; members change through `members/`."""

    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Audience
        fields = ["id", "name", "description", "member_count", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembersChangeSerializer(StrictSerializer):
    """Recipients to add to and remove from an audience, by external_id."""

    add = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=1000
    )
    remove = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=1000
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("add") and not attrs.get("remove"):
            raise serializers.ValidationError("Give recipients to add or to remove.")
        return attrs


class MembersChangedSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
