"""What a segment's rule may say: its fields and their types, the operators of each type with
the words the rule builder shows, the values of engagement conditions, and the limits of a
segment's rules. The package's docstring describes the format these tables make up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notifications.models import Delivery, RecipientAttribute
from notifications.recipients.attributes import attribute_types

TEXT = RecipientAttribute.Type.TEXT
NUMBER = RecipientAttribute.Type.NUMBER
DATE = RecipientAttribute.Type.DATE
BOOLEAN = RecipientAttribute.Type.BOOLEAN
CHANNEL, AUDIENCE, DELIVERY, SMS = "channel", "audience", "delivery", "sms"

ATTRIBUTE_PREFIX = "attributes."

# The recipient's own fields: name, type, label.
RECIPIENT_FIELDS: dict[str, tuple[str, str]] = {
    "external_id": (TEXT, _("External id")),
    "phone": (TEXT, _("Phone")),
    "first_name": (TEXT, _("First name")),
    "last_name": (TEXT, _("Last name")),
    "created_at": (DATE, pgettext_lazy("recipient", "Added")),
    "updated_at": (DATE, _("Last changed")),
    "opted_out": (BOOLEAN, _("Opted out")),
}
SPECIAL_FIELDS: dict[str, tuple[str, str]] = {
    "address": (CHANNEL, _("Address on channel")),
    "audience": (AUDIENCE, _("Audience")),
    "delivery": (DELIVERY, _("Campaign delivery")),
    "sms": (SMS, "SMS"),
}

# Operators per type, with the words the rule builder shows.

# (in the context "segment rule": the same English word may read differently in a rule).
OPERATORS: dict[str, dict[str, str]] = {
    TEXT: {
        "eq": pgettext_lazy("segment rule", "is"),
        "ne": pgettext_lazy("segment rule", "is not"),
        "contains": pgettext_lazy("segment rule", "contains"),
        "starts_with": pgettext_lazy("segment rule", "starts with"),
        "in": pgettext_lazy("segment rule", "is one of"),
        "empty": pgettext_lazy("segment rule", "is empty"),
        "not_empty": pgettext_lazy("segment rule", "is not empty"),
    },
    NUMBER: {
        "eq": "=",
        "ne": "≠",
        "lt": "<",
        "lte": "≤",
        "gt": ">",
        "gte": "≥",
        "between": pgettext_lazy("segment rule", "between"),
    },
    DATE: {
        "on": pgettext_lazy("segment rule", "on"),
        "before": pgettext_lazy("segment rule", "before"),
        "after": pgettext_lazy("segment rule", "after"),
        "between": pgettext_lazy("segment rule", "between"),
        "within_days": pgettext_lazy("segment rule", "in the last N days"),
        "older_than_days": pgettext_lazy("segment rule", "more than N days ago"),
    },
    BOOLEAN: {
        "is_true": pgettext_lazy("segment rule", "is yes"),
        "is_false": pgettext_lazy("segment rule", "is no"),
    },
    CHANNEL: {
        "has": pgettext_lazy("segment rule", "has one on"),
        "has_not": pgettext_lazy("segment rule", "has none on"),
    },
    AUDIENCE: {
        "in": pgettext_lazy("segment rule", "is in"),
        "not_in": pgettext_lazy("segment rule", "is not in"),
    },
    DELIVERY: {
        "was": pgettext_lazy("segment rule", "was"),
        "was_not": pgettext_lazy("segment rule", "was not"),
    },
    SMS: {
        "was": pgettext_lazy("segment rule", "was"),
        "was_not": pgettext_lazy("segment rule", "was not"),
    },
}
ATTRIBUTE_OPERATORS = {
    "exists": pgettext_lazy("segment rule", "has a value"),
    "missing": pgettext_lazy("segment rule", "has no value"),
}
# Operators that take no value.
NO_VALUE = {"empty", "not_empty", "is_true", "is_false", "exists", "missing"}

DELIVERY_STATUSES = {
    Delivery.Status.SENT: pgettext_lazy("segment rule", "sent"),
    Delivery.Status.FAILED: pgettext_lazy("segment rule", "failed"),
    Delivery.Status.UNKNOWN: pgettext_lazy("segment rule", "unknown (no answer)"),
    Delivery.Status.SKIPPED: pgettext_lazy("segment rule", "skipped"),
}
SMS_EVENTS = {
    "sent": pgettext_lazy("segment rule", "sent"),
    "delivered": pgettext_lazy("segment rule", "delivered"),
    "lost": pgettext_lazy("segment rule", "lost"),
    "clicked": pgettext_lazy("segment rule", "clicked"),
}

MAX_DEPTH = 4
MAX_CONDITIONS = 100
MAX_LIST = 1000
MAX_TEXT = 1000
MAX_DAYS = 36_500


@dataclass(frozen=True)
class FieldInfo:
    """What a rule's field is: its type and the label staff read."""

    name: str
    type: str
    label: str


def rule_fields(types: Mapping[str, str] | None = None) -> list[FieldInfo]:
    """Every field a rule may name, the attributes' from the registry (`types`, read when not
    given), in the order the rule builder lists them."""
    labels = dict(RecipientAttribute.objects.values_list("name", "label"))
    types = attribute_types() if types is None else types
    return [
        *(FieldInfo(name, kind, label) for name, (kind, label) in RECIPIENT_FIELDS.items()),
        *(
            FieldInfo(ATTRIBUTE_PREFIX + name, kind, labels.get(name) or name)
            for name, kind in sorted(types.items())
        ),
        *(FieldInfo(name, kind, label) for name, (kind, label) in SPECIAL_FIELDS.items()),
    ]


def field_type(field: str, types: Mapping[str, str]) -> str | None:
    """The type of `field`, None when no rule may name it."""
    if field in RECIPIENT_FIELDS:
        return RECIPIENT_FIELDS[field][0]
    if field in SPECIAL_FIELDS:
        return SPECIAL_FIELDS[field][0]
    if field.startswith(ATTRIBUTE_PREFIX):
        return types.get(field.removeprefix(ATTRIBUTE_PREFIX))
    return None


def operators_of(field: str, kind: str) -> dict[str, str]:
    """The operators a field of type `kind` takes, with their words."""
    if field.startswith(ATTRIBUTE_PREFIX):
        return {**OPERATORS[kind], **ATTRIBUTE_OPERATORS}
    return OPERATORS[kind]


def audience_references(rules: Any) -> set[int]:
    """The ids of the audiences `rules` name (membership conditions), at any depth."""
    if not isinstance(rules, dict):
        return set()
    if "rules" in rules and isinstance(rules["rules"], list):
        return set().union(*(audience_references(rule) for rule in rules["rules"]))
    if rules.get("field") == "audience" and isinstance(rules.get("value"), int):
        return {rules["value"]}
    return set()


def kind_words(kind: str) -> str:
    """What a value of type `kind` is, as a rule's error names it ("a number")."""
    return {
        TEXT: pgettext_lazy("value type", "text"),
        NUMBER: pgettext_lazy("value type", "a number"),
        DATE: pgettext_lazy("value type", "a date"),
        BOOLEAN: pgettext_lazy("value type", "yes / no"),
        CHANNEL: pgettext_lazy("value type", "an address"),
        AUDIENCE: pgettext_lazy("value type", "an audience"),
        DELIVERY: pgettext_lazy("value type", "a delivery"),
        SMS: pgettext_lazy("value type", "an SMS"),
    }[kind]
