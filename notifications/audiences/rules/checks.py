"""The check of a segment's rules: every group and condition read against the vocabulary, the
attribute registry and the database, every problem reported at once under the rule it is
about, and the rules returned with their values in stored form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, pgettext

from notifications.errors import InvalidInput
from notifications.models import Audience, Campaign, Channel
from notifications.recipients.attributes import attribute_types

from .values import between_clean, days_clean, id_clean, scalar_clean
from .vocabulary import (
    ATTRIBUTE_PREFIX,
    AUDIENCE,
    CHANNEL,
    DATE,
    DELIVERY,
    DELIVERY_STATUSES,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LIST,
    NO_VALUE,
    NUMBER,
    SMS,
    SMS_EVENTS,
    TEXT,
    audience_references,
    field_type,
    kind_words,
    operators_of,
)


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
                % {"op": repr(op), "kind": kind_words(kind), "operators": ", ".join(operators)},
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
                return between_clean(kind, value)
            if op in ("within_days", "older_than_days"):
                return days_clean(value)
            if op == "in":
                if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
                    raise ValueError(
                        gettext("the value is a list of 1 to %(count)s texts.")
                        % {"count": MAX_LIST}
                    )
                return [scalar_clean(TEXT, item) for item in value]
            return scalar_clean(kind, value)
        if kind == CHANNEL:
            if value not in Channel.values:
                raise ValueError(
                    gettext("%(value)s is not a channel: use one of %(channels)s.")
                    % {"value": repr(value), "channels": ", ".join(Channel.values)}
                )
            return value
        if kind == AUDIENCE:
            audience_id = id_clean(value, pgettext("the id of", "an audience"))
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
            clean["campaign"] = id_clean(value["campaign"], pgettext("the id of", "a campaign"))
            self.campaigns.setdefault(clean["campaign"], path)
        if value.get("within_days") is not None:
            clean["within_days"] = days_clean(value["within_days"])
        if kind == DELIVERY and "campaign" not in clean and "within_days" not in clean:
            raise ValueError(
                gettext("name the campaign, or the days (any campaign in the last N days).")
            )
        if value.get("link"):
            if value[what] != "clicked":
                raise ValueError(gettext("a link applies to clicks only."))
            clean["link"] = scalar_clean(TEXT, value["link"])
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
