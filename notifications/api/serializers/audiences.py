"""Audiences (static lists and segments), a segment's rules and their preview, and the change
of a static audience's members by external_id.

A segment's rules are checked by `audience_save` and `rules_clean` alone: the serializer only
makes sure they are a JSON object a database can store, and describes them in the schema.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from notifications.audiences.rules import (
    ATTRIBUTE_OPERATORS,
    ATTRIBUTE_PREFIX,
    MAX_DEPTH,
    OPERATORS,
    RECIPIENT_FIELDS,
    SPECIAL_FIELDS,
)
from notifications.db.storable import unstorable_character

from ...models import Audience
from .base import StrictModelSerializer, StrictSerializer
from .recipients import RecipientSerializer

RULES_EXAMPLE = {
    "match": "all",
    "rules": [
        {"field": "attributes.city", "op": "eq", "value": "Moscow"},
        {"field": "address", "op": "has", "value": "imshop"},
        {
            "match": "any",
            "rules": [
                {"field": "attributes.tier", "op": "in", "value": ["gold", "platinum"]},
                {"field": "sms", "op": "was", "value": {"event": "clicked", "within_days": 7}},
            ],
        },
    ],
}


def _fields_words() -> str:
    own = ", ".join(f"`{name}` ({kind})" for name, (kind, _) in RECIPIENT_FIELDS.items())
    special = ", ".join(f"`{name}`" for name in SPECIAL_FIELDS)
    operators = "; ".join(f"{kind}: {', '.join(ops)}" for kind, ops in OPERATORS.items())
    return (
        f"A field is one of the recipient's own: {own}; `{ATTRIBUTE_PREFIX}<name>`, a registered "
        f"attribute (/api/attributes/) by its type, which also takes "
        f"{', '.join(ATTRIBUTE_OPERATORS)}; or {special}. Operators by type: {operators}."
    )


RULES_DESCRIPTION = (
    'A segment\'s rules: one group `{"match": "all" | "any", "rules": [...]}` whose rules '
    f'are conditions `{{"field": ..., "op": ..., "value": ...}}` or groups, nested at most '
    f"{MAX_DEPTH} deep. " + _fields_words() + " A `delivery` value is "
    '`{"status": "sent" | "failed" | "unknown" | "skipped", "campaign": id, "within_days": N}` '
    'with the campaign, the days or both; an `sms` value is `{"event": "sent" | "delivered" | '
    '"lost" | "clicked", "campaign": id, "within_days": N, "link": "https://..."}`; an '
    "`audience` value is an audience's id; an `address` value is a channel. Every problem is "
    'answered at once, one sentence per rule: `{"rules": ["Rule 2.1: \'x\' is not a number."]}`. '
    "A static audience's rules are null."
)


class RulesField(serializers.JSONField):
    """A segment's rules as sent: a JSON object a database can store; what they mean is the
    service's to check (`rules_clean`)."""

    default_error_messages = {
        # Braces doubled: DRF formats the message.
        "not_a_group": _(
            'The rules are one group, a JSON object: {{"match": "all", "rules": [...]}}.'
        ),
    }

    def to_internal_value(self, data: Any) -> Any:
        rules = super().to_internal_value(data)
        if not isinstance(rules, dict):
            self.fail("not_a_group")
        if problem := _unstorable(rules):
            raise serializers.ValidationError(
                gettext("The rules hold %(problem)s, which cannot be stored.")
                % {"problem": problem}
            )
        return rules


def _unstorable(value: Any) -> str | None:
    """What in `value`'s texts (keys included) no database stores, if anything."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (problem := unstorable_character(item)):
            return problem
    return None


_CONDITION = {
    "type": "object",
    "description": "One condition on a recipient.",
    "properties": {
        "field": {"type": "string", "example": "attributes.city"},
        "op": {"type": "string", "example": "eq"},
        "value": {
            "description": "What the operator compares with, in the field's type; left out "
            "for operators that take none (empty, not_empty, is_true, is_false, exists, "
            "missing)."
        },
    },
    "required": ["field", "op"],
    "additionalProperties": False,
}
_GROUP_NAME, _CONDITION_NAME = "RuleGroup", "RuleCondition"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_GROUP = {
    "type": "object",
    "description": "Rules joined by AND (`all`) or OR (`any`); at least one.",
    "properties": {
        "match": {"type": "string", "enum": ["all", "any"]},
        "rules": {
            "type": "array",
            "minItems": 1,
            "items": {"oneOf": [_ref(_CONDITION_NAME), _ref(_GROUP_NAME)]},
        },
    },
    "required": ["match", "rules"],
    "additionalProperties": False,
}


class RulesFieldSchema(OpenApiSerializerFieldExtension):
    """The rules in the schema: a `RuleGroup` of `RuleCondition`s and `RuleGroup`s."""

    target_class = RulesField

    def map_serializer_field(self, auto_schema, direction):
        for name, schema in ((_CONDITION_NAME, _CONDITION), (_GROUP_NAME, _GROUP)):
            auto_schema.registry.register_on_missing(
                # A copy: the schema's hooks rewrite components in place (enums become refs).
                ResolvedComponent(
                    name=name,
                    type=ResolvedComponent.SCHEMA,
                    object=name,
                    schema=copy.deepcopy(schema),
                )
            )
        return {
            "allOf": [_ref(_GROUP_NAME)],
            "nullable": self.target.allow_null,
            "description": RULES_DESCRIPTION,
            "example": copy.deepcopy(RULES_EXAMPLE),
        }


class AudienceSerializer(StrictModelSerializer):
    """A static list of members (changed through `members/`) or a segment of rules."""

    rules = RulesField(required=False, allow_null=True)
    member_count = serializers.IntegerField(
        source="size",
        read_only=True,
        help_text="The same as `size`, kept for older clients: a static audience's members; "
        "for a segment, how many its rules matched when last counted (`size_counted_at`), "
        "which the members list, read now, may no longer equal.",
    )

    class Meta:
        model = Audience
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "rules",
            "size",
            "size_counted_at",
            "member_count",
            "created_at",
        ]
        read_only_fields = ["id", "size", "size_counted_at", "created_at"]
        extra_kwargs = {
            "kind": {
                "help_text": "Chosen when the audience is made: a change is refused (400).",
            },
            "size": {
                "help_text": "A static audience's members, kept exact; a segment's as counted "
                "at `size_counted_at` (when its rules were last saved or counted).",
            },
        }


class AudiencePreviewSerializer(StrictSerializer):
    """Rules to try before saving them, for a new segment or for segment `audience`."""

    rules = RulesField()
    audience = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(),
        required=False,
        allow_null=True,
        help_text="The segment these rules are for, so that including itself (directly or "
        "through other segments) is refused as saving would refuse it.",
    )


class AudiencePreviewAnswerSerializer(serializers.Serializer):
    """How many recipients the rules select now, and the newest ten of them."""

    count = serializers.IntegerField()
    sample = RecipientSerializer(many=True)


class MembersFilterSerializer(serializers.Serializer):
    """Query parameters of an audience's member list."""

    search = serializers.CharField(
        required=False,
        max_length=255,
        help_text="An external_id or a phone, exactly; or part of a last name.",
    )


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
            raise serializers.ValidationError(gettext("Give recipients to add or to remove."))
        return attrs


class MembersChangedSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
