"""Recipients in bulk, by `external_id`: a CSV import or an API upsert.

Addresses and audience membership are written with the people, in chunks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from notifications.audiences.services import STATIC_ONLY, audience_sizes_add
from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.bulk import bulk_upsert, db_timestamp, db_value
from notifications.errors import InvalidInput
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Recipient,
)
from notifications.recipients.attributes import (
    attribute_types,
    attributes_typed,
    recipient_attributes_register,
)
from notifications.recipients.reading import RecipientRow, RejectedRow
from notifications.recipients.validators import address_holders, address_taken_message

IMPORT_CHUNK_SIZE = 2000


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    dry_run: bool = False

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        counts = gettext(
            "%(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
            "%(rejected)s rejected"
        ) % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
        }
        if self.dry_run:
            outcome = ngettext(
                "%(count)s row would be imported.",
                "%(count)s rows would be imported.",
                self.accepted,
            )
        else:
            outcome = ngettext(
                "%(count)s row was imported.", "%(count)s rows were imported.", self.accepted
            )
        return f"{counts}: {outcome % {'count': self.accepted}}"


def recipients_import(
    *,
    rows: Iterable[RecipientRow | RejectedRow],
    audience: Audience | None = None,
    dry_run: bool = False,
    chunk_size: int = IMPORT_CHUNK_SIZE,
) -> ImportReport:
    """Upsert recipients by `external_id`, with their addresses, and add them to `audience`.

    Rows are written in chunks, each in its own transaction, so memory stays flat and a failure
    late in a large file keeps what came before. A row is rejected, with its line and reason,
    when it is invalid, repeats an `external_id` seen earlier in the file, or claims an address
    that belongs to another recipient. Attributes are merged into the stored ones; empty cells
    change nothing. With `dry_run`, every chunk is checked against the database and rolled back.
    """
    if audience is not None and audience.kind != Audience.Kind.STATIC:
        raise InvalidInput(STATIC_ONLY, field="audience")
    report = ImportReport(dry_run=dry_run)
    first_line_of: dict[str, int] = {}
    address_owner: dict[tuple[str, str], str] = {}
    for chunk in _chunks(rows, chunk_size):
        valid: list[RecipientRow] = []
        for row in chunk:
            if isinstance(row, RejectedRow):
                report.rejected.append(row)
                continue
            problem = _in_file_conflict(row, first_line_of, address_owner)
            if problem:
                report.rejected.append(RejectedRow(row.line, problem, row.external_id))
                continue
            valid.append(row)
        if valid:
            with transaction.atomic():
                _import_chunk(valid, audience, report)
                if dry_run:
                    transaction.set_rollback(True)
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _in_file_conflict(
    row: RecipientRow,
    first_line_of: dict[str, int],
    address_owner: dict[tuple[str, str], str],
) -> str | None:
    earlier = first_line_of.setdefault(row.external_id, row.line)
    if earlier != row.line:
        return gettext("external_id '%(id)s' already appears on line %(line)s.") % {
            "id": row.external_id,
            "line": earlier,
        }
    for channel, value in row.addresses.items():
        owner = address_owner.setdefault((channel, value), row.external_id)
        if owner != row.external_id:
            return gettext(
                "%(channel)s address %(value)s is also given to '%(owner)s' in this file."
            ) % {"channel": channel, "value": value, "owner": owner}
    return None


def _import_chunk(
    rows: list[RecipientRow], audience: Audience | None, report: ImportReport
) -> None:
    # Person data per external_id, as (phone, first_name, last_name, timezone, attributes).
    # Locked here, in id order, the order senders lock recipients in to count their frequency
    # caps (`campaigns.caps`): the upsert below, in the file's order, would otherwise take
    # them in an order that can deadlock with a sender.
    existing = {
        external_id: tuple(data)
        for external_id, *data in Recipient.objects.filter(
            external_id__in=[row.external_id for row in rows]
        )
        .select_for_update(no_key=True)
        .order_by("pk")
        .values_list("external_id", "phone", "first_name", "last_name", "timezone", "attributes")
    }
    stored_addresses: dict[str, dict[str, str]] = {}
    for external_id, channel, value in Address.objects.filter(
        recipient__external_id__in=list(existing)
    ).values_list("recipient__external_id", "channel", "value"):
        stored_addresses.setdefault(external_id, {})[channel] = value
    taken = address_holders(pair for row in rows for pair in row.addresses.items())
    types = attribute_types()
    to_write: list[tuple] = []
    accepted: list[RecipientRow] = []
    typed_attributes: list[dict] = []
    for row in rows:
        try:
            typed = attributes_typed(row.attributes, types)
        except InvalidInput as exc:
            report.rejected.append(RejectedRow(row.line, str(exc), row.external_id))
            continue
        problem = next(
            (
                address_taken_message(channel, value, owner)
                for channel, value in row.addresses.items()
                if (owner := taken.get((channel, value))) not in (None, row.external_id)
            ),
            None,
        )
        if problem:
            report.rejected.append(RejectedRow(row.line, problem, row.external_id))
            continue
        accepted.append(row)
        typed_attributes.append(typed)
        current = existing.get(row.external_id)
        phone, first_name, last_name, time_zone, attributes = current or ("", "", "", "", {})
        merged = (
            row.phone or phone,
            row.first_name or first_name,
            row.last_name or last_name,
            row.timezone or time_zone,
            {**attributes, **typed},
        )
        if current is None:
            report.created += 1
        elif merged == current:
            addresses = stored_addresses.get(row.external_id, {})
            if all(addresses.get(channel) == value for channel, value in row.addresses.items()):
                report.unchanged += 1
            else:
                report.updated += 1
            continue
        else:
            report.updated += 1
        to_write.append((row.external_id, *merged))

    stamp = db_timestamp(timezone.now())
    bulk_upsert(
        Recipient,
        [
            "external_id",
            "phone",
            "first_name",
            "last_name",
            "timezone",
            "attributes",
            "created_at",
            "updated_at",
        ],
        [
            (
                external_id,
                phone,
                first_name,
                last_name,
                time_zone,
                db_value(Recipient, "attributes", attributes),
                stamp,
                stamp,
            )
            for external_id, phone, first_name, last_name, time_zone, attributes in to_write
        ],
        conflict=["external_id"],
        update=["phone", "first_name", "last_name", "timezone", "attributes", "updated_at"],
    )
    ids = dict(
        Recipient.objects.filter(external_id__in=[row.external_id for row in accepted]).values_list(
            "external_id", "id"
        )
    )
    bulk_upsert(
        Address,
        ["recipient_id", "channel", "value", "created_at"],
        [
            (ids[row.external_id], channel, value, stamp)
            for row in accepted
            for channel, value in row.addresses.items()
        ],
        conflict=["recipient_id", "channel"],
        update=["value"],
    )
    if audience is not None:
        added = bulk_upsert(
            AudienceMember,
            ["audience_id", "recipient_id", "added_at"],
            [(audience.pk, ids[row.external_id], stamp) for row in accepted],
            conflict=["audience_id", "recipient_id"],
        )
        audience_sizes_add(deltas={audience.pk: added})
    recipient_attributes_register(attributes=typed_attributes)
    # SMS callbacks that arrived before these recipients existed now find them.
    sms_events_link_pending(recipient_ids=ids.values())


@dataclass(frozen=True)
class UpsertResult:
    """What a bulk upsert did with one item: `created`, `updated` or `rejected` (and why)."""

    index: int
    external_id: str
    result: str
    reason: str = ""


def recipients_upsert(
    *, rows: list[RecipientRow | RejectedRow], audience: Audience | None = None
) -> list[UpsertResult]:
    """Upsert recipients (rows numbered by their index) and say per row what happened.

    A thin layer over `recipients_import`: a bad row never stops the good ones.
    """
    known = set(
        Recipient.objects.filter(
            external_id__in=[row.external_id for row in rows if isinstance(row, RecipientRow)]
        ).values_list("external_id", flat=True)
    )
    report = recipients_import(rows=rows, audience=audience)
    rejected = {row.line: row for row in report.rejected}
    results = []
    for row in rows:
        if row.line in rejected:
            results.append(
                UpsertResult(row.line, row.external_id, "rejected", rejected[row.line].reason)
            )
        else:
            outcome = "updated" if row.external_id in known else "created"
            results.append(UpsertResult(row.line, row.external_id, outcome))
    return results
