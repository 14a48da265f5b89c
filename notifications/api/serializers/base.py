"""What every resource's serializers share: refusing unknown fields, and a request's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

MAX_TEXT = 10_000
MAX_BATCH = settings.API_MAX_BATCH

# The largest id a row can have (64-bit keys); a larger number names nothing and would
# overflow the database driver.
MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare (with every other error of the same request)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {
                name: [_("This field is not accepted here.")]
                for name in sorted(set(data) - set(self.fields))
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    """A model serializer that refuses unknown fields."""


class EmptySerializer(StrictSerializer):
    """No fields: the action takes none."""
