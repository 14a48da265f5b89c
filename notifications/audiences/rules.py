"""A segment's rules: their vocabulary, and the check that turns what staff or an integration
sent into rules the query can trust.

Rules are JSON. A group is `{"match": "all" | "any", "rules": [...]}`, and the rules of a
segment are one group. A rule inside a group is another group or a condition
`{"field": ..., "op": ..., "value": ...}`:

| field | what it is | operators |
|---|---|---|
| `external_id`, `phone`, `first_name`, `last_name` | the recipient's own text | text |
| `created_at`, `updated_at` | when the recipient was added or last changed | date |
| `opted_out` | whether the recipient opted out | boolean |
| `attributes.<name>` | a registered attribute, by its type | its type's, and `exists`, `missing` |
| `address` | has an address on a channel (value: the channel) | `has`, `has_not` |
| `audience` | is in another audience (value: its id) | `in`, `not_in` |
| `delivery` | a delivery to them ended so (value below) | `was`, `was_not` |
| `sms` | an SMS to them was so (value below) | `was`, `was_not` |

A `delivery` value is `{"status": "sent" | "failed" | "unknown" | "skipped", "campaign": id,
"within_days": N}` with a campaign, the days (any campaign's deliveries of the last N days), or
both. An `sms` value is `{"event": "sent" | "delivered" | "lost" | "clicked", "campaign": id,
"within_days": N, "link": "https://..."}`, each but the event optional (a link: clicks only).

Operators by type: text `eq`, `ne`, `contains`, `starts_with`, `in` (a list), `empty`,
`not_empty`; number `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `between` (`[low, high]`); date `on`,
`before`, `after`, `between`, `within_days` (in the last N days), `older_than_days`; boolean
`is_true`, `is_false`.

`rules_clean` checks every condition against the attribute registry and the database, and
returns the rules with values in their stored form (numbers as numbers, dates as ISO dates);
every problem is reported at once, each naming its rule ("Rule 2.1"), as InvalidInput on
`rules`.

One module past 400 lines on purpose: the vocabulary above and the check that reads it are one
contract (a field or operator added to the tables is checked, and offered by the builder and
the API schema, from here), and a tenth of it is this reference of the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.db.storable import unstorable_character
from notifications.errors import InvalidInput
from notifications.models import Audience, Campaign, Channel, Delivery, RecipientAttribute
from notifications.recipients.attributes import attribute_types, typed_value

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


class _Problems:
    """Problems found, each under the rule it is about."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, path: tuple[int, ...], message: str) -> None:
        if path:
            message = gettext("Rule %(path)s: %(problem)s") % {
                "path": ".".join(map(str, path)),
                "problem": message,
            }
        self.messages.append(message)


def rules_clean(rules: Any, *, audience: Audience | None = None) -> dict[str, Any]:
    """`rules` checked and in stored form, for segment `audience` (None for a new one).

    InvalidInput on `rules` lists every problem: an unknown field or attribute, an operator
    that does not fit the type, a value that does not parse, an audience or campaign that does
    not exist, an audience that includes this one (directly or through other segments), a
    group without rules, or rules too many or nested too deep.
    """
    problems = _Problems()
    checker = _Checker(problems, attribute_types(), audience.pk if audience else None)
    clean = checker.group(rules, ())
    if checker.conditions > MAX_CONDITIONS:
        problems.add(
            (),
            gettext("A segment has at most %(count)s conditions.") % {"count": MAX_CONDITIONS},
        )
    checker.check_references(problems)
    if problems.messages:
        raise InvalidInput(problems.messages, field="rules")
    return clean


class _Checker:
    def __init__(self, problems: _Problems, types: Mapping[str, str], own_id: int | None):
        self.problems = problems
        self.types = types
        self.own_id = own_id
        self.conditions = 0
        self.audiences: dict[int, tuple[int, ...]] = {}
        self.campaigns: dict[int, tuple[int, ...]] = {}

    def group(self, group: Any, path: tuple[int, ...]) -> dict[str, Any]:
        if not isinstance(group, dict) or set(group) != {"match", "rules"}:
            self.problems.add(
                path,
                gettext('a group is {"match": "all" or "any", "rules": [...]}, and nothing else.'),
            )
            return {}
        if group["match"] not in ("all", "any"):
            self.problems.add(
                path,
                gettext("match must be 'all' or 'any', not %(value)s.")
                % {"value": repr(group["match"])},
            )
        rules = group["rules"]
        if not isinstance(rules, list) or not rules:
            self.problems.add(
                path,
                gettext("the group has no rules.")
                if path
                else gettext("A segment needs at least one rule."),
            )
            return {}
        if len(path) >= MAX_DEPTH:
            self.problems.add(
                path, gettext("groups nest at most %(count)s deep.") % {"count": MAX_DEPTH}
            )
            return {}
        clean = []
        for index, rule in enumerate(rules, start=1):
            where = (*path, index)
            if isinstance(rule, dict) and "rules" in rule:
                clean.append(self.group(rule, where))
            else:
                clean.append(self.condition(rule, where))
        return {"match": group["match"], "rules": clean}

    def condition(self, rule: Any, path: tuple[int, ...]) -> dict[str, Any]:
        self.conditions += 1
        if not isinstance(rule, dict) or not {"field", "op"} <= set(rule) <= {
            "field",
            "op",
            "value",
        }:
            self.problems.add(
                path, gettext('a condition is {"field": ..., "op": ..., "value": ...}.')
            )
            return {}
        field, op = rule["field"], rule["op"]
        kind = field_type(field, self.types) if isinstance(field, str) else None
        if kind is None:
            if isinstance(field, str) and field.startswith(ATTRIBUTE_PREFIX):
                name = field.removeprefix(ATTRIBUTE_PREFIX)
                self.problems.add(
                    path, gettext("no attribute is named %(name)s.") % {"name": repr(name)}
                )
            else:
                self.problems.add(
                    path,
                    gettext("%(field)s is not a field a rule may use.") % {"field": repr(field)},
                )
            return {}
        operators = operators_of(field, kind)
        if op not in operators:
            self.problems.add(
                path,
                gettext("%(op)s does not apply to %(kind)s: use one of %(operators)s.")
                % {"op": repr(op), "kind": _kind_words(kind), "operators": ", ".join(operators)},
            )
            return {}
        if op in NO_VALUE:
            if rule.get("value") not in (None, "", []):
                self.problems.add(path, gettext("'%(op)s' takes no value.") % {"op": op})
            return {"field": field, "op": op}
        if "value" not in rule:
            self.problems.add(path, gettext("the value is missing."))
            return {}
        try:
            value = self.value(kind, op, rule["value"], path)
        except ValueError as exc:
            self.problems.add(path, str(exc))
            return {}
        return {"field": field, "op": op, "value": value}

    def value(self, kind: str, op: str, value: Any, path: tuple[int, ...]) -> Any:
        if kind in (TEXT, NUMBER, DATE):
            if op == "between":
                return _between(kind, value)
            if op in ("within_days", "older_than_days"):
                return _days(value)
            if op == "in":
                if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
                    raise ValueError(
                        gettext("the value is a list of 1 to %(count)s texts.")
                        % {"count": MAX_LIST}
                    )
                return [_scalar(TEXT, item) for item in value]
            return _scalar(kind, value)
        if kind == CHANNEL:
            if value not in Channel.values:
                raise ValueError(
                    gettext("%(value)s is not a channel: use one of %(channels)s.")
                    % {"value": repr(value), "channels": ", ".join(Channel.values)}
                )
            return value
        if kind == AUDIENCE:
            audience_id = _id(value, pgettext("the id of", "an audience"))
            self.audiences.setdefault(audience_id, path)
            return audience_id
        return self.engagement(kind, value, path)

    def engagement(self, kind: str, value: Any, path: tuple[int, ...]) -> dict[str, Any]:
        what, choices = ("status", DELIVERY_STATUSES) if kind == DELIVERY else ("event", SMS_EVENTS)
        allowed = {what, "campaign", "within_days", *(("link",) if kind == SMS else ())}
        if not isinstance(value, dict) or not set(value) <= allowed:
            raise ValueError(
                gettext("the value is {%(keys)s}.")
                % {"keys": ", ".join(f'"{k}"' for k in sorted(allowed))}
            )
        if value.get(what) not in choices:
            raise ValueError(
                gettext("%(what)s must be one of %(choices)s.")
                % {"what": what, "choices": ", ".join(choices)}
            )
        clean: dict[str, Any] = {what: value[what]}
        if value.get("campaign") is not None:
            clean["campaign"] = _id(value["campaign"], pgettext("the id of", "a campaign"))
            self.campaigns.setdefault(clean["campaign"], path)
        if value.get("within_days") is not None:
            clean["within_days"] = _days(value["within_days"])
        if kind == DELIVERY and "campaign" not in clean and "within_days" not in clean:
            raise ValueError(
                gettext("name the campaign, or the days (any campaign in the last N days).")
            )
        if value.get("link"):
            if value[what] != "clicked":
                raise ValueError(gettext("a link applies to clicks only."))
            clean["link"] = _scalar(TEXT, value["link"])
        return clean

    def check_references(self, problems: _Problems) -> None:
        """Named audiences and campaigns exist, and no audience includes this one."""
        if self.campaigns:
            known = set(Campaign.objects.filter(pk__in=self.campaigns).values_list("pk", flat=True))
            for campaign_id, path in self.campaigns.items():
                if campaign_id not in known:
                    problems.add(path, gettext("no campaign has id %(id)s.") % {"id": campaign_id})
        if not self.audiences:
            return
        for audience_id, path in self.audiences.items():
            if audience_id == self.own_id:
                problems.add(path, gettext("a segment cannot include itself."))
                continue
            through = _includes(audience_id, self.own_id)
            if through is None:
                problems.add(path, gettext("no audience has id %(id)s.") % {"id": audience_id})
            elif through:
                if len(through) > 1:
                    sentence = gettext(
                        "audience '%(name)s' includes this segment (through %(chain)s): "
                        "a segment cannot include itself."
                    )
                else:
                    sentence = gettext(
                        "audience '%(name)s' includes this segment: "
                        "a segment cannot include itself."
                    )
                problems.add(
                    path,
                    sentence
                    % {"name": through[0], "chain": ", ".join(repr(n) for n in through[1:])},
                )


def _includes(audience_id: int, own_id: int | None) -> list[str] | None:
    """The chain of audience names from `audience_id` that leads back to `own_id` ([] when
    none does); None when `audience_id` does not exist. One query per segment on the way."""
    start = Audience.objects.filter(pk=audience_id).values_list("name", "kind", "rules").first()
    if start is None:
        return None
    if own_id is None:
        return []
    seen = {audience_id}
    stack = [(audience_id, [start[0]], start[1], start[2])]
    while stack:
        _, chain, kind, rules = stack.pop()
        if kind != Audience.Kind.SEGMENT:
            continue
        for ref in audience_references(rules):
            if ref == own_id:
                return chain
            if ref in seen:
                continue
            seen.add(ref)
            row = Audience.objects.filter(pk=ref).values_list("name", "kind", "rules").first()
            if row is not None:
                stack.append((ref, [*chain, row[0]], row[1], row[2]))
    return []


def _kind_words(kind: str) -> str:
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


def _storable(value: Any) -> None:
    # Before any message echoes the value: a page cannot hold half a surrogate pair, and
    # PostgreSQL compares no text with a NUL in it.
    if isinstance(value, str) and (what := unstorable_character(value)):
        raise ValueError(
            gettext("the value contains %(what)s, which cannot be stored.") % {"what": what}
        )


def _scalar(kind: str, value: Any) -> Any:
    if isinstance(value, dict | list) or value is None or value == "":
        raise ValueError(gettext("the value must be %(kind)s.") % {"kind": _kind_words(kind)})
    _storable(value)
    clean = typed_value(kind, value)
    if isinstance(clean, str) and len(clean) > MAX_TEXT:
        raise ValueError(
            gettext("the value is longer than %(count)s characters.") % {"count": MAX_TEXT}
        )
    return clean


def _between(kind: str, value: Any) -> list[Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(gettext("between takes two values: [low, high]."))
    if kind == TEXT:
        raise ValueError(gettext("between applies to numbers and dates."))
    low, high = (_scalar(kind, item) for item in value)
    if low > high:
        raise ValueError(
            gettext("the low end (%(low)s) is above the high end (%(high)s).")
            % {"low": low, "high": high}
        )
    return [low, high]


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(gettext("the number of days must be a whole number."))
    _storable(value)
    try:
        days = int(value)
    except ValueError:
        raise ValueError(
            gettext("'%(value)s' is not a whole number of days.") % {"value": value}
        ) from None
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(
            gettext("the number of days must be between 0 and %(most)s.") % {"most": MAX_DAYS}
        )
    return days


# The largest id a row can have (64-bit keys): a larger number names nothing, and SQLite's
# driver cannot even send it.
MAX_ID = 2**63 - 1


def _id(value: Any, what: str) -> int:
    text = str(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not text.isdigit()
        or len(text) > len(str(MAX_ID))
        or int(text) > MAX_ID
    ):
        raise ValueError(
            gettext("%(value)s is not the id of %(what)s.") % {"value": repr(value), "what": what}
        )
    return int(value)
