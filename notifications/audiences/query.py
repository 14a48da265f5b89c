"""Who is in an audience, as one SQL condition on recipients.

A static audience is its member rows; a segment is its rules (checked by `rules.rules_clean`)
compiled into one `Q`: attribute conditions read the JSON column in the attribute's type,
engagement conditions are `EXISTS` subqueries on the recipient's deliveries and events, and a
membership condition is the other audience's own condition. No Python runs per recipient:
counting a segment, sampling it and freezing it into deliveries are each one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import (
    BooleanField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models import lookups as sql
from django.db.models.functions import TruncDate
from django.utils import timezone

from notifications.audiences.rules import ATTRIBUTE_PREFIX, BOOLEAN, DATE, NUMBER, TEXT
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    Delivery,
    DeliveryEvent,
    Recipient,
)
from notifications.recipients.attributes import attribute_types


class AttributeValue(Func):
    """One attribute's value as SQL of its type; NULL where the recipient has none.

    A number or yes/no attribute holding a value of another type (the services never store
    one, but a cast of it would fail) reads as NULL too. Text and dates are strings by the
    same rule, and are read as they are on PostgreSQL.
    """

    def __init__(self, name: str, kind: str) -> None:
        output = {NUMBER: FloatField(), BOOLEAN: BooleanField()}.get(kind, TextField())
        super().__init__(F("attributes"), output_field=output)
        self.name, self.kind = name, kind

    def as_postgresql(self, compiler, connection, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        if self.kind in (TEXT, DATE):
            # One read of the JSON: text and date values are strings (the services store them
            # so), and checking the type doubled the time of a segment's count.
            return f"({column} ->> %s)", [*params, self.name]
        json_type = {NUMBER: "number", BOOLEAN: "boolean"}.get(self.kind, "string")
        cast = {NUMBER: "double precision", BOOLEAN: "boolean"}.get(self.kind, "text")
        sql = (
            f"(CASE WHEN jsonb_typeof({column} -> %s) = '{json_type}' "
            f"THEN CAST(({column} ->> %s) AS {cast}) END)"
        )
        return sql, [*params, self.name, *params, self.name]

    def as_sqlite(self, compiler, connection, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        path = '$."' + self.name + '"'  # registry names are letters, digits and underscores
        if self.kind == BOOLEAN:
            sql = f"(CASE json_type({column}, %s) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
            return sql, [*params, path]
        json_types = "'integer', 'real'" if self.kind == NUMBER else "'text'"
        sql = (
            f"(CASE WHEN json_type({column}, %s) IN ({json_types}) "
            f"THEN json_extract({column}, %s) END)"
        )
        return sql, [*params, path, *params, path]


def audience_q(audience: Audience, *, within: tuple[int, int] | None = None) -> Q:
    """The recipients of `audience`, optionally only those with ids in `within` (inclusive)."""
    return _audience_q(audience, within, frozenset(), _Types())


def audiences_q(audiences: Iterable[Audience], *, within: tuple[int, int] | None = None) -> Q:
    """The recipients in any of `audiences` (none when there are none)."""
    q = Q(pk__in=[])
    for audience in audiences:
        q |= audience_q(audience, within=within)
    return q


def audience_people(audience: Audience) -> QuerySet[Recipient]:
    """The recipients of `audience`."""
    return Recipient.objects.filter(audience_q(audience))


def rules_people(rules: dict[str, Any]) -> QuerySet[Recipient]:
    """The recipients clean `rules` select (a segment not saved yet, say)."""
    return Recipient.objects.filter(_group(rules, frozenset(), _Types()))


class _Types:
    """The registry's attribute types, read once per query built, when first needed."""

    def __init__(self) -> None:
        self._types: dict[str, str] | None = None

    def __getitem__(self, name: str) -> str:
        if self._types is None:
            self._types = attribute_types()
        return self._types.get(name, TEXT)


def _audience_q(
    audience: Audience, within: tuple[int, int] | None, seen: frozenset[int], types: _Types
) -> Q:
    if audience.kind == Audience.Kind.SEGMENT:
        q = _group(audience.rules or {}, seen | {audience.pk}, types)
        return q & Q(pk__gte=within[0], pk__lte=within[1]) if within else q
    members = AudienceMember.objects.filter(audience_id=audience.pk, recipient_id=OuterRef("pk"))
    # EXISTS, not IN: the first few people in id order (previews, samples) are then found
    # through the (audience, recipient) index without SQLite reading all the members first
    # (0 ms instead of 470 at a million).
    if not within:
        return Q(Exists(members))
    # The range on both sides: PostgreSQL carries neither over to the other, and read every
    # recipient or every member for each chunk materialised.
    members = members.filter(recipient_id__gte=within[0], recipient_id__lte=within[1])
    return Q(Exists(members)) & Q(pk__gte=within[0], pk__lte=within[1])


def _group(group: dict[str, Any], seen: frozenset[int], types: _Types) -> Q:
    parts = [
        _group(rule, seen, types) if "rules" in rule else _condition(rule, seen, types)
        for rule in group.get("rules", [])
    ]
    if not parts:
        return Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if group["match"] == "all" else combined | part
    return combined


def _condition(rule: dict[str, Any], seen: frozenset[int], types: _Types) -> Q:
    field, op, value = rule["field"], rule["op"], rule.get("value")
    if field == "address":
        has = Exists(Address.objects.filter(recipient=OuterRef("pk"), channel=value))
        return Q(has) if op == "has" else ~Q(has)
    if field == "audience":
        return _membership(value, op == "in", seen, types)
    if field == "delivery":
        return _was(op, _deliveries(value))
    if field == "sms":
        return _was(op, _sms_events(value))
    if field == "opted_out":
        return Q(opted_out_at__isnull=op == "is_false")
    if field in ("created_at", "updated_at"):
        return _date_moment(field, op, value)
    if field.startswith(ATTRIBUTE_PREFIX):
        name = field.removeprefix(ATTRIBUTE_PREFIX)
        return _attribute(name, types[name], op, value)
    return _text(F(field), op, value, nullable=False)


def _membership(audience_id: int, inside: bool, seen: frozenset[int], types: _Types) -> Q:
    """In (or, with `inside` false, not in) audience `audience_id`."""
    audience = Audience.objects.filter(pk=audience_id).first()
    # rules_clean refuses cycles, and a deleted audience has nobody: either is in none.
    if audience_id in seen or audience is None:
        return Q(pk__in=[]) if inside else ~Q(pk__in=[])
    members = _audience_q(audience, None, seen, types)
    if inside or audience.kind == Audience.Kind.STATIC:
        return members if inside else ~members  # a list's EXISTS is never NULL
    # A segment's complement through a subquery: negated in place, a condition on a missing
    # attribute (NULL) would leave that recipient out of both "in" and "not in".
    return ~Q(pk__in=Recipient.objects.filter(members).values("pk"))


def _was(op: str, rows: QuerySet) -> Q:
    found = Exists(rows)
    return Q(found) if op == "was" else ~Q(found)


def _since(days: int) -> Any:
    return timezone.now() - timedelta(days=days)


def _deliveries(value: dict[str, Any]) -> QuerySet[Delivery]:
    rows = Delivery.objects.filter(recipient=OuterRef("pk"), status=value["status"])
    if "campaign" in value:
        rows = rows.filter(campaign_id=value["campaign"])
    else:  # "any campaign": marketing campaigns, not test sends or API messages
        rows = rows.filter(campaign__kind=Campaign.Kind.CAMPAIGN)
    if "within_days" in value:
        rows = rows.filter(updated_at__gte=_since(value["within_days"]))
    return rows


SMS_TYPES = {
    "sent": DeliveryEvent.Type.SMS_SENT,
    "delivered": DeliveryEvent.Type.SMS_SENT,
    "lost": DeliveryEvent.Type.SMS_LOST,
    "clicked": DeliveryEvent.Type.SMS_CLICK,
}


def _sms_events(value: dict[str, Any]) -> QuerySet[DeliveryEvent]:
    rows = DeliveryEvent.objects.filter(recipient=OuterRef("pk"), type=SMS_TYPES[value["event"]])
    if value["event"] == "delivered":  # sent, and never lost (in whatever order they came)
        lost = DeliveryEvent.objects.filter(
            sms_id=OuterRef("sms_id"), type=DeliveryEvent.Type.SMS_LOST
        )
        rows = rows.filter(sms_id__isnull=False).exclude(Exists(lost))
    if "campaign" in value:
        rows = rows.filter(campaign_id=value["campaign"])
    if "within_days" in value:
        rows = rows.filter(occurred_at__gte=_since(value["within_days"]))
    if "link" in value:
        rows = rows.filter(link=value["link"])
    return rows


def _date_moment(field: str, op: str, value: Any) -> Q:
    """A condition on a recipient's own date-time column, by day in the site's time zone."""
    if op == "within_days":
        return Q(**{f"{field}__gte": _since(value)})
    if op == "older_than_days":
        return Q(**{f"{field}__lt": _since(value)})
    day = TruncDate(field)
    return _compare(day, op, value)


def _attribute(name: str, kind: str, op: str, value: Any) -> Q:
    column = AttributeValue(name, kind)
    if op == "exists":
        return Q(sql.IsNull(column, False))
    if op == "missing":
        return Q(sql.IsNull(column, True))
    if kind == BOOLEAN:
        return Q(sql.Exact(column, Value(op == "is_true")))
    if kind == DATE and op in ("within_days", "older_than_days"):
        today = timezone.localdate()
        since = (today - timedelta(days=value)).isoformat()
        if op == "within_days":
            return Q(sql.GreaterThanOrEqual(column, since)) & Q(
                sql.LessThanOrEqual(column, today.isoformat())
            )
        return Q(sql.LessThan(column, since))
    if kind == TEXT:
        return _text(column, op, value, nullable=True)
    return _compare(column, op, value)


def _text(column: Any, op: str, value: Any, *, nullable: bool) -> Q:
    missing = Q(sql.IsNull(column, True)) if nullable else Q(pk__in=[])
    if op == "empty":
        return missing | Q(sql.Exact(column, ""))
    if op == "not_empty":
        return ~missing & ~Q(sql.Exact(column, ""))
    if op == "eq":
        return Q(sql.Exact(column, value))
    if op == "ne":
        return missing | ~Q(sql.Exact(column, value))
    if op == "contains":
        return Q(sql.IContains(column, value))
    if op == "starts_with":
        return Q(sql.IStartsWith(column, value))
    if op == "in":
        return Q(sql.In(column, value))
    raise ValueError(f"{op!r} is not a text operator.")


def _compare(column: Any, op: str, value: Any) -> Q:
    """Numbers and dates: compared as their type (dates as ISO text, which sorts as dates)."""
    if op in ("eq", "on"):
        return Q(sql.Exact(column, value))
    if op == "ne":
        return Q(sql.IsNull(column, True)) | ~Q(sql.Exact(column, value))
    if op in ("lt", "before"):
        return Q(sql.LessThan(column, value))
    if op == "lte":
        return Q(sql.LessThanOrEqual(column, value))
    if op in ("gt", "after"):
        return Q(sql.GreaterThan(column, value))
    if op == "gte":
        return Q(sql.GreaterThanOrEqual(column, value))
    if op == "between":
        low, high = value
        return Q(sql.GreaterThanOrEqual(column, low)) & Q(sql.LessThanOrEqual(column, high))
    raise ValueError(f"{op!r} is not a comparison.")
