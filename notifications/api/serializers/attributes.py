"""The attribute registry: each attribute's name, type and label."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from notifications.recipients.validators import clean_attribute_name

from ...models import RecipientAttribute
from .base import StrictModelSerializer


def _usable_name(name: str) -> None:
    try:
        clean_attribute_name(name)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None


class RecipientAttributeSerializer(StrictModelSerializer):
    """An attribute recipients may have. The name is chosen when it is registered; a change of
    type converts every stored value, or is refused (400 on `type`) naming some that do not."""

    name = serializers.CharField(
        max_length=100,
        help_text="Letters, digits and underscores, starting with a letter; fixed once made.",
        # Usable first: the uniqueness query must not see a name no database can encode.
        validators=[_usable_name, UniqueValidator(queryset=RecipientAttribute.objects.all())],
    )

    class Meta:
        model = RecipientAttribute
        fields = ["name", "type", "label"]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None:
            # The name is the attribute's key in every recipient's values and in segments.
            fields["name"].read_only = True
        return fields
