"""What every resource's serializers share: refusing unknown fields, and a request's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from notifications.reasons import reason_code, reason_text

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


class ReasonField(serializers.CharField):
    """A stored reason (`notifications.reasons`) as a sentence in the request's language
    (Accept-Language); a text that is no reason, as it is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: str) -> str:
        return reason_text(value)


class ReasonCodeField(serializers.CharField):
    """The stable code of a stored reason, for machines: `paused_by`; null for a text that is
    no reason (rows from before the codes, a staff member's own words)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        # A null code is a value here, not a missing attribute to skip.
        return reason_code(super().get_attribute(instance) or "")

    def to_representation(self, value: str | None) -> str | None:
        return value
