"""Writes to audiences: the admin, the API and commands call these.

A static audience's `size` is kept here, in the transaction that changes its members, from
what each statement reports it changed; a segment's is counted when its rules are saved and
whenever `audience_size_count` runs again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.audiences.query import audience_people
from notifications.audiences.rules import audience_references, rules_clean
from notifications.db.bulk import db_timestamp
from notifications.db.save import save_fields
from notifications.errors import InvalidInput, StateConflict
from notifications.models import Audience, AudienceMember, Campaign, Recipient
from notifications.recipients.validators import recipients_known

STATIC_ONLY = _("A segment's members follow its rules: change the rules, or use a static list.")


def audience_save(*, audience: Audience | None, data: Mapping[str, Any]) -> Audience:
    """Create an audience, or change one; of an existing one only `data` is written, so a
    change made meanwhile to another field stays.

    A segment's rules are checked (`rules_clean`) and stored in their clean form, and its size
    is counted. The kind is chosen when the audience is made. A name another audience has
    (taken meanwhile, past a form's check) is InvalidInput.
    """
    data = dict(data)
    kind = data.get("kind", audience.kind if audience else Audience.Kind.STATIC)
    if audience is not None and kind != audience.kind:
        raise InvalidInput(
            gettext("An audience's kind is chosen when it is made: make a new audience instead."),
            field="kind",
        )
    if kind == Audience.Kind.SEGMENT and (audience is None or "rules" in data):
        data["rules"] = rules_clean(data.get("rules"), audience=audience)
    elif kind == Audience.Kind.STATIC and data.get("rules"):
        raise InvalidInput(gettext("A static list has members, not rules."), field="rules")
    elif "rules" in data:
        data["rules"] = None  # a static list's empty rules: none
    audience = audience or Audience()
    try:
        with transaction.atomic():
            save_fields(audience, data)
    except IntegrityError:
        raise InvalidInput(
            gettext("An audience named '%(name)s' exists.") % {"name": audience.name},
            field="name",
        ) from None
    if audience.kind == Audience.Kind.SEGMENT and (
        "rules" in data or audience.size_counted_at is None
    ):
        audience_size_count(audience=audience)
    return audience


def audience_size_count(*, audience: Audience) -> int:
    """Count a segment's members now and keep the count with its time (one query); a static
    audience's kept size as it is."""
    if audience.kind != Audience.Kind.SEGMENT:
        return Audience.objects.filter(pk=audience.pk).values_list("size", flat=True).get()
    now = timezone.now()
    size = audience_people(audience).count()
    Audience.objects.filter(pk=audience.pk).update(size=size, size_counted_at=now)
    audience.size, audience.size_counted_at = size, now
    return size


def audience_sizes_add(*, deltas: Mapping[int, int]) -> None:
    """Add to static audiences' kept sizes: `deltas` by audience id (in id order, so two
    transactions changing the same audiences lock them in the same order)."""
    for audience_id in sorted(deltas):
        if deltas[audience_id]:
            Audience.objects.filter(pk=audience_id).update(size=F("size") + deltas[audience_id])


def audience_sizes_rebuild() -> int:
    """Recount every static audience's kept size from its members; how many were wrong."""
    wrong = 0
    for audience in Audience.objects.filter(kind=Audience.Kind.STATIC).order_by("pk"):
        with transaction.atomic():
            locked = Audience.objects.select_for_update().get(pk=audience.pk)
            actual = AudienceMember.objects.filter(audience=locked).count()
            if actual != locked.size:
                wrong += 1
                Audience.objects.filter(pk=locked.pk).update(size=actual)
    return wrong


def audience_delete(*, audience: Audience) -> None:
    """Delete an audience no campaign has gone out to or excluded, and no segment includes
    (else StateConflict); its members stay.

    A dispatched campaign's audiences are part of its history. Its campaigns are locked first,
    so a draft being dispatched meanwhile either goes first (and the audience stays) or finds
    the audience gone.
    """
    with transaction.atomic():
        campaigns = list(
            Campaign.objects.select_for_update(no_key=True)
            .filter(
                Q(pk__in=Campaign.objects.filter(audiences=audience).values("pk"))
                | Q(pk__in=Campaign.objects.filter(excluded_audiences=audience).values("pk"))
            )
            .order_by("id")
        )
        sent = next((c for c in campaigns if c.status != Campaign.Status.DRAFT), None)
        if sent is not None:
            if sent.audiences.filter(pk=audience.pk).exists():
                sentence = gettext(
                    "Cannot delete audience '%(audience)s': campaign '%(campaign)s' went out to it."
                )
            else:
                sentence = gettext(
                    "Cannot delete audience '%(audience)s': campaign '%(campaign)s' went out "
                    "excluding it."
                )
            raise StateConflict(sentence % {"audience": audience.name, "campaign": sent.name})
        user = next(
            (
                segment
                for segment in Audience.objects.filter(kind=Audience.Kind.SEGMENT).exclude(
                    pk=audience.pk
                )
                if audience.pk in audience_references(segment.rules)
            ),
            None,
        )
        if user is not None:
            raise StateConflict(
                gettext("Cannot delete audience '%(audience)s': segment '%(segment)s' includes it.")
                % {"audience": audience.name, "segment": user.name}
            )
        audience.delete()


def _static(audience: Audience) -> None:
    if audience.kind != Audience.Kind.STATIC:
        raise InvalidInput(STATIC_ONLY)


def audience_members_add(*, audience: Audience, recipients: QuerySet[Recipient]) -> int:
    """Add `recipients` (any query: the selected rows, or every match of a search) to a static
    audience, in one statement; how many were not members before."""
    _static(audience)
    quote = connection.ops.quote_name
    people, params = recipients.order_by().values("id").query.sql_with_params()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(AudienceMember._meta.db_table)} "  # noqa: S608
                f"({quote('audience_id')}, {quote('recipient_id')}, {quote('added_at')}) "
                f"SELECT %s, people.id, %s FROM ({people}) people "
                # WHERE: without it SQLite reads ON CONFLICT as a join's ON.
                "WHERE 1 = 1 "
                f"ON CONFLICT ({quote('audience_id')}, {quote('recipient_id')}) DO NOTHING",
                [audience.pk, db_timestamp(timezone.now()), *params],
            )
            added = max(cursor.rowcount, 0)
        audience_sizes_add(deltas={audience.pk: added})
    return added


def audience_members_remove(*, audience: Audience, recipients: QuerySet[Recipient]) -> int:
    """Remove `recipients` from a static audience; how many were members."""
    _static(audience)
    with transaction.atomic():
        removed, _ = AudienceMember.objects.filter(
            audience=audience, recipient_id__in=recipients.order_by().values("pk")
        ).delete()
        audience_sizes_add(deltas={audience.pk: -removed})
    return removed


def audience_members_change(
    *, audience: Audience, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> dict[str, int]:
    """Add and remove members of a static audience by external_id; all named recipients must
    exist.

    Raises InvalidInput naming the unknown ones, and then changes nothing. Adding a member
    twice or removing a non-member is not an error. Returns how many were added and removed.
    """
    _static(audience)
    add, remove = set(add), set(remove)
    known = recipients_known(add | remove)
    with transaction.atomic():
        added = audience_members_add(
            audience=audience,
            recipients=Recipient.objects.filter(pk__in=[known[x] for x in sorted(add)]),
        )
        removed = audience_members_remove(
            audience=audience,
            recipients=Recipient.objects.filter(pk__in=[known[x] for x in remove]),
        )
    return {"added": added, "removed": removed}


def recipient_audiences_set(*, recipient: Recipient, audiences: Iterable[Audience]) -> None:
    """Make `recipient` a member of exactly the static `audiences` (of the static ones: a
    segment's members follow its rules)."""
    wanted = {audience.pk for audience in audiences}
    for audience in Audience.objects.filter(pk__in=wanted).exclude(kind=Audience.Kind.STATIC):
        raise InvalidInput(
            gettext("'%(name)s' is a segment: %(rule)s")
            % {"name": audience.name, "rule": STATIC_ONLY},
            field="audiences",
        )
    person = Recipient.objects.filter(pk=recipient.pk)
    with transaction.atomic():
        current = set(
            AudienceMember.objects.filter(recipient=recipient).values_list("audience_id", flat=True)
        )
        for audience in Audience.objects.filter(pk__in=wanted - current).order_by("pk"):
            audience_members_add(audience=audience, recipients=person)
        for audience in Audience.objects.filter(pk__in=current - wanted).order_by("pk"):
            audience_members_remove(audience=audience, recipients=person)
