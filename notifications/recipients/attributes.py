"""The attribute registry: each attribute's type, and its values stored in that type.

A value is converted once, when it is written (CSV import, the API, the admin), so segments
compare numbers as numbers and dates as dates in SQL, and templates render what was stored:

- number: a JSON number (`"4,5"` and `" 12 "` are accepted and become 4.5 and 12);
- date: an ISO date string `YYYY-MM-DD` (`DD.MM.YYYY` and ISO date-times are accepted);
- boolean: JSON `true` / `false` (yes/no, 1/0, да/нет accepted);
- text: a string (a number or yes/no sent for a text attribute becomes its text).

Names seen for the first time are registered with the type of their first value (text from a
CSV file; a JSON number or boolean from the API); staff give them a type and a label in the
admin, and a change of type converts the values already stored, or is refused naming the
recipients whose values do not convert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, ngettext

from notifications.db.bulk import bulk_update, db_json
from notifications.errors import InvalidInput, StateConflict
from notifications.formats import number_text
from notifications.models import Audience, Recipient, RecipientAttribute

Type = RecipientAttribute.Type

_TRUE = {"true", "yes", "y", "1", "да", "д"}
_FALSE = {"false", "no", "n", "0", "нет", "н"}
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def typed_value(kind: str, value: Any) -> Any:
    """`value` stored as an attribute of type `kind`; ValueError with a sentence if it is not
    one. None stays None (no value)."""
    if value is None:
        return value
    if kind == Type.TEXT:
        return _text(value)
    if kind == Type.NUMBER:
        return _number(value)
    if kind == Type.DATE:
        return _date(value)
    if kind == Type.BOOLEAN:
        return _boolean(value)
    raise ValueError(f"'{kind}' is not an attribute type.")


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(gettext("%(value)s is not text.") % {"value": _shown(value)})


def _number(value: Any) -> int | float:
    original = value
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if _NUMBER.fullmatch(text):
            number = Decimal(text.replace(",", "."))
            exact = number == number.to_integral_value() and "e" not in text.lower()
            value = int(number) if exact else float(number)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(_not_a_number(original))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(_not_a_number(original))
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def _not_a_number(value: Any) -> str:
    return gettext("%(value)s is not a number.") % {"value": _shown(value)}


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        with suppress(ValueError):
            if match := _DOTTED_DATE.fullmatch(text):
                day, month, year = (int(part) for part in match.groups())
                return date(year, month, day).isoformat()
            return datetime.fromisoformat(text).date().isoformat()
    raise ValueError(
        gettext("%(value)s is not a date (YYYY-MM-DD or DD.MM.YYYY).") % {"value": _shown(value)}
    )


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(
        gettext("%(value)s is not yes or no (true/false, yes/no, 1/0).") % {"value": _shown(value)}
    )


def attribute_types() -> dict[str, str]:
    """Each registered attribute's type, by name: one query."""
    return dict(RecipientAttribute.objects.values_list("name", "type"))


def attributes_typed(
    attributes: Mapping[str, Any], types: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`attributes` with each value stored in its registered type (`types`, read when not
    given; a name not registered yet keeps its value, and is registered with its type);
    InvalidInput on `attributes` naming every value that is not of its type."""
    types = attribute_types() if types is None else types
    typed, problems = {}, []
    for name, value in attributes.items():
        try:
            typed[name] = typed_value(types.get(name) or attribute_type_of(value), value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise InvalidInput(problems, field="attributes")
    return typed


def attribute_type_of(value: Any) -> str:
    """The type an attribute first seen with `value` is registered as: what the JSON says
    (a CSV cell is always text)."""
    if isinstance(value, bool):
        return Type.BOOLEAN
    if isinstance(value, int | float):
        return Type.NUMBER
    return Type.TEXT


def recipient_attributes_register(*, attributes: Iterable[Mapping[str, Any]]) -> None:
    """Register the attribute names of `attributes` not seen before, each with the type of its
    first value, so templates and segments may use them."""
    first: dict[str, Any] = {}
    for values in attributes:
        for name, value in values.items():
            first.setdefault(name, value)
    RecipientAttribute.objects.bulk_create(
        [RecipientAttribute(name=n, type=attribute_type_of(v)) for n, v in first.items()],
        ignore_conflicts=True,
    )


# Recipients converted per statement when an attribute changes type.
CONVERT_CHUNK = 2000
# Recipients a refused change of type names as examples.
EXAMPLES = 5


def recipient_attribute_save(
    *, attribute: RecipientAttribute | None, data: Mapping[str, Any]
) -> RecipientAttribute:
    """Register an attribute or change its label or type.

    A new type converts every stored value of the attribute to it, in the same transaction;
    if any value does not convert, nothing changes and InvalidInput (on `type`) says how many
    recipients have such a value, naming a few.
    """
    with transaction.atomic():
        if attribute is None:
            attribute = RecipientAttribute(name=data["name"])
            old_type = Type.TEXT
        else:
            attribute = RecipientAttribute.objects.select_for_update().get(pk=attribute.pk)
            old_type = attribute.type
        for field, value in data.items():
            setattr(attribute, field, value)
        if attribute.type != old_type or attribute._state.adding:
            _convert_values(attribute.name, attribute.type)
        attribute.save()
    return attribute


def _convert_values(name: str, kind: str) -> None:
    """Store every recipient's value of `name` as type `kind`, or refuse naming some that do
    not convert (the caller's transaction then undoes the chunks converted). Reads and writes
    in id order, a chunk at a time, so memory stays flat."""
    holders = Recipient.objects.filter(attributes__has_key=name).order_by("pk")
    failures, examples, last = 0, [], 0
    while rows := list(
        holders.filter(pk__gt=last).values_list("pk", "external_id", "attributes")[:CONVERT_CHUNK]
    ):
        last = rows[-1][0]
        changes = []
        for pk, external_id, attributes in rows:
            try:
                value = typed_value(kind, attributes[name])
            except ValueError:
                failures += 1
                if len(examples) < EXAMPLES:
                    examples.append(f"{external_id} ({_shown(attributes[name])})")
                continue
            if value != attributes[name] or type(value) is not type(attributes[name]):
                changes.append((pk, db_json({**attributes, name: value})))
        if not failures:
            bulk_update(Recipient, ["attributes"], changes)
    if failures:
        raise InvalidInput(
            _not_convertible(kind, failures)
            % {"count": failures, "name": name, "examples": ", ".join(examples)},
            field="type",
        )


def _not_convertible(kind: str, failures: int) -> str:
    """The sentence refusing a change of type that `failures` recipients' values do not fit."""
    if kind == Type.NUMBER:
        return ngettext(
            "%(count)s recipient has a value of '%(name)s' that is not a number, "
            "for example %(examples)s. Correct them first.",
            "%(count)s recipients have a value of '%(name)s' that is not a number, "
            "for example %(examples)s. Correct them first.",
            failures,
        )
    if kind == Type.DATE:
        return ngettext(
            "%(count)s recipient has a value of '%(name)s' that is not a date, "
            "for example %(examples)s. Correct them first.",
            "%(count)s recipients have a value of '%(name)s' that is not a date, "
            "for example %(examples)s. Correct them first.",
            failures,
        )
    return ngettext(
        "%(count)s recipient has a value of '%(name)s' that is not yes or no, "
        "for example %(examples)s. Correct them first.",
        "%(count)s recipients have a value of '%(name)s' that is not yes or no, "
        "for example %(examples)s. Correct them first.",
        failures,
    )


def recipient_attribute_delete(*, attribute: RecipientAttribute) -> None:
    """Delete an attribute no recipient has a value of and no segment's rules name; else
    StateConflict saying who still uses it.

    A value written after the check registers the name again (the services register every name
    they store), so the registry never misses a name in use for long.
    """
    holders = Recipient.objects.filter(attributes__has_key=attribute.name).count()
    if holders:
        raise StateConflict(
            ngettext(
                "Cannot delete attribute '%(name)s': %(count)s recipient has a value of it.",
                "Cannot delete attribute '%(name)s': %(count)s recipients have a value of it.",
                holders,
            )
            % {"name": attribute.name, "count": number_text(holders)}
        )
    field = "attributes." + attribute.name
    for segment in Audience.objects.filter(kind=Audience.Kind.SEGMENT).only("name", "rules"):
        if field in _rule_fields(segment.rules):
            raise StateConflict(
                gettext("Cannot delete attribute '%(name)s': segment '%(segment)s' uses it.")
                % {"name": attribute.name, "segment": segment.name}
            )
    attribute.delete()


def _rule_fields(rules: Any) -> set[str]:
    """The fields a segment's rules name, at any depth."""
    if not isinstance(rules, dict):
        return set()
    if isinstance(rules.get("rules"), list):
        return set().union(*(_rule_fields(rule) for rule in rules["rules"]))
    return {rules["field"]} if isinstance(rules.get("field"), str) else set()
