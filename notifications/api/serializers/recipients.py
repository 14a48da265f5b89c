"""Recipients: one recipient, the list's filters, and the bulk upsert's request and answer.

Attributes, addresses and phones are checked with the validators the admin's import uses.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers

from notifications.recipients.validators import (
    clean_address,
    clean_addresses_free,
    clean_attributes,
    clean_phone,
    clean_time_zone,
)

from ...models import Audience, Channel, Recipient
from .base import MAX_BATCH, MAX_ID, StrictModelSerializer, StrictSerializer

MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_VALUE = 1000


def _django_errors(exc: DjangoValidationError) -> list[str]:
    return list(exc.messages)


class AttributesField(serializers.DictField):
    """Template variables: names usable in `{{ name }}`, plain values, a bounded number."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attributes = super().to_internal_value(data)
        if len(attributes) > MAX_ATTRIBUTES:
            raise serializers.ValidationError(
                _("At most %(count)s attributes.") % {"count": MAX_ATTRIBUTES}
            )
        try:
            clean_attributes(attributes)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_django_errors(exc)) from None
        for name, value in attributes.items():
            if isinstance(value, dict | list):
                raise serializers.ValidationError(
                    _("Attribute '%(name)s' must be text, a number, true/false or null.")
                    % {"name": name}
                )
            if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_VALUE:
                raise serializers.ValidationError(
                    _("Attribute '%(name)s' is longer than %(limit)s characters.")
                    % {"name": name, "limit": MAX_ATTRIBUTE_VALUE}
                )
        return attributes


class AddressesField(serializers.DictField):
    """A recipient's address per channel: `{"leadconverter": "1001", ...}`."""

    child = serializers.CharField(max_length=255)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        addresses = super().to_internal_value(data)
        cleaned = {}
        for channel, value in addresses.items():
            if channel not in Channel.values:
                raise serializers.ValidationError(
                    _("'%(channel)s' is not a channel; use one of %(channels)s.")
                    % {"channel": channel, "channels": ", ".join(Channel.values)}
                )
            try:
                cleaned[channel] = clean_address(channel, value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(_django_errors(exc)) from None
        return cleaned

    def to_representation(self, value: Any) -> dict[str, str]:
        return {address.channel: address.value for address in value.all()}


def _clean_time_zone(value: str) -> str:
    try:
        return clean_time_zone(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(_django_errors(exc)) from None


def _clean_phone(value: str) -> str:
    if not value:
        return ""
    try:
        return clean_phone(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(_django_errors(exc)) from None


class RecipientSerializer(StrictModelSerializer):
    """One recipient with their addresses; `audiences` lists the ids they belong to."""

    attributes = AttributesField(required=False)
    addresses = AddressesField(required=False)
    audiences = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Recipient
        fields = [
            "id",
            "external_id",
            "phone",
            "first_name",
            "last_name",
            "timezone",
            "attributes",
            "addresses",
            "opted_out_at",
            "audiences",
            "created_at",
            "updated_at",
        ]

    def validate_phone(self, value: str) -> str:
        return _clean_phone(value)

    def validate_timezone(self, value: str) -> str:
        return _clean_time_zone(value)

    def validate_addresses(self, addresses: dict[str, str]) -> dict[str, str]:
        try:
            clean_addresses_free(addresses, recipient_id=getattr(self.instance, "pk", None))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_django_errors(exc)) from None
        return addresses


class RecipientFilterSerializer(serializers.Serializer):
    """Query parameters of the recipient list."""

    external_id = serializers.CharField(required=False, max_length=255)
    phone = serializers.CharField(required=False, max_length=32)
    audience = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    opted_out = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False, max_length=255)


class BulkRecipientItemSerializer(StrictSerializer):
    """One recipient of a bulk upsert; empty values leave stored ones unchanged."""

    external_id = serializers.CharField(max_length=255)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    timezone = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="An IANA zone such as Europe/Moscow; send windows are in its local time.",
    )
    addresses = AddressesField(required=False)
    attributes = AttributesField(required=False)

    def validate_phone(self, value: str) -> str:
        return _clean_phone(value)

    def validate_timezone(self, value: str) -> str:
        return _clean_time_zone(value)


class BulkRecipientsSerializer(StrictSerializer):
    """Up to `API_MAX_BATCH` recipients to create or update, optionally into an audience."""

    audience = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(), required=False, allow_null=True
    )
    # Items are checked one by one afterwards, so one bad item cannot refuse the others.
    recipients = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH
    )


class BulkRecipientsDocSerializer(BulkRecipientsSerializer):
    """The bulk request as documented: the same, with the item shape spelled out."""

    recipients = BulkRecipientItemSerializer(many=True)


class BulkResultSerializer(serializers.Serializer):
    """What happened to one item of a bulk upsert."""

    index = serializers.IntegerField()
    external_id = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated", "rejected"])
    reason = serializers.CharField()


class BulkAnswerSerializer(serializers.Serializer):
    """Counts and the per-item outcome of a bulk upsert."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BulkResultSerializer(many=True)
