"""Every write that is business logic. Views, admin actions, API views and tasks call these.

Functions are named `<entity>_<action>`, take keyword arguments and own their transactions.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min, ProtectedError, Q, QuerySet
from django.utils import timezone

from .connections import channel_status
from .db.bulk import bulk_upsert, db_timestamp, db_value
from .importing import RecipientRow, RejectedRow
from .models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    IdempotencyRecord,
    IntegrationKey,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
)
from .rendering import (
    TEMPLATE_FIELDS,
    RenderError,
    channel_template_errors,
    compile_template,
    recipient_context,
    render_for_channel,
    template_errors,
    template_fields,
)
from .selectors import recipient_attribute_names
from .sending.counters import counters_add, counters_move, counters_read, counters_rebuild
from .sending.wake import enqueue, enqueue_senders
from .sms import sms_events_link_pending

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
        if self.dry_run:
            verb = "would be"
        else:
            verb = "was" if self.accepted == 1 else "were"
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected: {_rows(self.accepted)} {verb} imported."
        )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def recipient_attributes_register(*, names: Iterable[str]) -> None:
    """Remember attribute names so templates may use them as variables."""
    RecipientAttribute.objects.bulk_create(
        [RecipientAttribute(name=name) for name in set(names)], ignore_conflicts=True
    )


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
        return f"external_id '{row.external_id}' already appears on line {earlier}."
    for channel, value in row.addresses.items():
        owner = address_owner.setdefault((channel, value), row.external_id)
        if owner != row.external_id:
            return f"{channel} address {value} is also given to '{owner}' in this file."
    return None


def _import_chunk(
    rows: list[RecipientRow], audience: Audience | None, report: ImportReport
) -> None:
    # Person data per external_id, as (phone, first_name, last_name, attributes).
    existing = {
        external_id: tuple(data)
        for external_id, *data in Recipient.objects.filter(
            external_id__in=[row.external_id for row in rows]
        ).values_list("external_id", "phone", "first_name", "last_name", "attributes")
    }
    stored_addresses: dict[str, dict[str, str]] = {}
    for external_id, channel, value in Address.objects.filter(
        recipient__external_id__in=list(existing)
    ).values_list("recipient__external_id", "channel", "value"):
        stored_addresses.setdefault(external_id, {})[channel] = value
    taken = _addresses_taken(rows)
    to_write: list[tuple] = []
    accepted: list[RecipientRow] = []
    for row in rows:
        problem = next(
            (
                f"{channel} address {value} already belongs to recipient '{owner}'."
                for channel, value in row.addresses.items()
                if (owner := taken.get((channel, value))) not in (None, row.external_id)
            ),
            None,
        )
        if problem:
            report.rejected.append(RejectedRow(row.line, problem, row.external_id))
            continue
        accepted.append(row)
        current = existing.get(row.external_id)
        phone, first_name, last_name, attributes = current or ("", "", "", {})
        merged = (
            row.phone or phone,
            row.first_name or first_name,
            row.last_name or last_name,
            {**attributes, **row.attributes},
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
                db_value(Recipient, "attributes", attributes),
                stamp,
                stamp,
            )
            for external_id, phone, first_name, last_name, attributes in to_write
        ],
        conflict=["external_id"],
        update=["phone", "first_name", "last_name", "attributes", "updated_at"],
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
        bulk_upsert(
            AudienceMember,
            ["audience_id", "recipient_id", "added_at"],
            [(audience.pk, ids[row.external_id], stamp) for row in accepted],
            conflict=["audience_id", "recipient_id"],
        )
    recipient_attributes_register(
        names=itertools.chain.from_iterable(r.attributes for r in accepted)
    )
    # SMS callbacks that arrived before these recipients existed now find them.
    sms_events_link_pending(recipient_ids=ids.values())


def _addresses_taken(rows: list[RecipientRow]) -> dict[tuple[str, str], str]:
    """Which external_id owns each address these rows mention, where one does already."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        for channel, value in row.addresses.items():
            wanted.setdefault(channel, set()).add(value)
    if not wanted:
        return {}
    condition = Q()
    for channel, values in wanted.items():
        condition |= Q(channel=channel, value__in=values)
    return {
        (channel, value): external_id
        for channel, value, external_id in Address.objects.filter(condition).values_list(
            "channel", "value", "recipient__external_id"
        )
    }


# --- Campaign lifecycle ---------------------------------------------------------------------


class TransitionError(Exception):
    """A campaign cannot make this move now; the message says why, for staff and the API."""


SAMPLE_RENDERS = 20

_PAUSABLE = {Campaign.Status.SCHEDULED, Campaign.Status.RUNNING}
_CANCELLABLE = {
    Campaign.Status.DRAFT,
    Campaign.Status.SCHEDULED,
    Campaign.Status.RUNNING,
    Campaign.Status.PAUSED,
}


def _locked(campaign_id: int) -> Campaign:
    # NO KEY UPDATE: a worker committing rows that reference the campaign takes KEY SHARE on it
    # for the foreign key check; a plain FOR UPDATE would make that worker wait on us while we
    # wait on its rows (a deadlock the worker tests found).
    try:
        return Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise TransitionError(f"Campaign {campaign_id} does not exist.") from None


def _refuse(campaign: Campaign, action: str) -> TransitionError:
    return TransitionError(
        f"Cannot {action} '{campaign.name}': it is {campaign.get_status_display().lower()}."
    )


@dataclass(frozen=True)
class Preflight:
    """What stops a campaign's dispatch (errors) and what staff should know (warnings)."""

    errors: list[str]
    warnings: list[str]


def campaign_preflight(*, campaign: Campaign) -> Preflight:
    """Check a campaign before dispatch: content fits the channel, audience, provider."""
    errors: list[str] = []
    warnings: list[str] = []
    fields = campaign.content or (template_fields(campaign.template) if campaign.template else {})
    if not any(fields.values()):
        errors.append("The campaign has no message: choose a template.")
    for messages in channel_template_errors(campaign.channel, fields).values():
        errors.extend(messages)
    for field_name, messages in template_errors(
        fields, known_variables=recipient_attribute_names()
    ).items():
        errors.extend(f"{field_name}: {message}" for message in messages)
    configured, reason = channel_status(campaign.channel)
    if not configured:
        errors.append(f"{Channel(campaign.channel).label} is not configured: {reason}")
    sample = list(
        Recipient.objects.filter(audiences__campaigns=campaign)
        .distinct()
        .order_by("id")[:SAMPLE_RENDERS]
    )
    if not sample and campaign.kind == Campaign.Kind.CAMPAIGN:
        errors.append("The audience is empty: add recipients or choose another audience.")
    if sample and not errors:
        compiled = compile_template(fields)
        failures = []
        for recipient in sample:
            try:
                render_for_channel(compiled, campaign.channel, recipient_context(recipient))
            except RenderError as exc:
                failures.append(f"{recipient.external_id}: {exc}")
        if len(failures) == len(sample):
            errors.append(f"The message renders for none of the first recipients; {failures[0]}")
        elif failures:
            warnings.append(
                f"{len(failures)} of the first {len(sample)} recipients cannot get this message "
                f"(they will fail); for example {failures[0]}"
            )
    return Preflight(errors, warnings)


def campaign_dispatch(
    *, campaign_id: int, user: Any = None, scheduled_at: datetime | None = None
) -> Campaign:
    """Send a draft campaign now, or at `scheduled_at`; content and audience freeze here."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise _refuse(campaign, "dispatch")
        now = timezone.now()
        if scheduled_at is not None and scheduled_at <= now:
            scheduled_at = None
        if campaign.template is not None:
            campaign.content = template_fields(campaign.template)
        check = campaign_preflight(campaign=campaign)
        if check.errors:
            raise TransitionError(" ".join(check.errors))
        campaign.scheduled_at = scheduled_at or campaign.scheduled_at
        if campaign.scheduled_at and campaign.scheduled_at > now:
            campaign.status = Campaign.Status.SCHEDULED
        else:
            campaign.status = Campaign.Status.RUNNING
            campaign.started_at = now
        campaign.dispatched_at = now
        # The materialisation task about to be queued counts as the campaign's live worker,
        # so the tick does not queue a second one while it runs.
        campaign.worker_seen_at = now
        campaign.dispatched_by = user if getattr(user, "pk", None) else None
        campaign.pause_reason = ""
        campaign.save()
        enqueue(campaign_materialise, campaign_id=campaign.pk)
    return campaign


def campaign_materialise(*, campaign_id: int, chunk: int = 50_000) -> dict[str, int]:
    """Create one delivery per distinct recipient of the audiences; safe to run again.

    Runs in the database, in recipient-id ranges, so memory stays flat at any audience size.
    Opted-out recipients and those without an address on the channel are `skipped` with the
    reason. When done, a running campaign's senders are started.
    """
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.materialised_at is not None:
        # A second run (a re-delivered task, or the tick's) must not rebuild the counters
        # under senders that are already adding to them.
        return counters_read(campaign_id=campaign_id)
    members = AudienceMember.objects.filter(audience__campaigns=campaign)
    bounds = members.aggregate(low=Min("recipient_id"), high=Max("recipient_id"))
    if bounds["low"] is not None:
        for start in range(bounds["low"], bounds["high"] + 1, chunk):
            with transaction.atomic():
                _materialise_range(campaign, start, start + chunk - 1)
            # A heartbeat: the tick restarts a materialisation only when this stops.
            Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=timezone.now())
    with transaction.atomic():
        counts = counters_rebuild(campaign_id=campaign_id)
        Campaign.objects.filter(pk=campaign_id).update(materialised_at=timezone.now())
        # SMS callbacks that arrived before the campaign started or its deliveries existed.
        sms_events_link_pending(campaign_ids=[campaign_id])
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.RUNNING:
            enqueue_senders(campaign_id)
    return counts


def _materialise_range(
    campaign: Campaign, first_id: int, last_id: int, recipient_ids: Sequence[int] = ()
) -> None:
    """Deliveries for the recipients with ids in [first_id, last_id]: members of the campaign's
    audiences, or, when `recipient_ids` is given (test sends, messages), exactly those."""
    quote = connection.ops.quote_name
    delivery = quote(Delivery._meta.db_table)
    recipient = quote(Recipient._meta.db_table)
    address = quote(Address._meta.db_table)
    member = quote(AudienceMember._meta.db_table)
    campaign_audiences = quote(Campaign.audiences.through._meta.db_table)
    event = quote(DeliveryEvent._meta.db_table)
    stamp = db_timestamp(timezone.now())
    # Imshop addresses default to the recipient's own external_id.
    fallback = "r.external_id" if campaign.channel == Channel.IMSHOP else "NULL"
    no_address = f"No {Channel(campaign.channel).label} address."
    if recipient_ids:
        members, member_params = ", ".join(["%s"] * len(recipient_ids)), list(recipient_ids)
    else:
        members = (
            f"SELECT m.recipient_id FROM {member} m "  # noqa: S608 - quoted table names
            f"JOIN {campaign_audiences} ca ON ca.audience_id = m.audience_id "
            "WHERE ca.campaign_id = %s AND m.recipient_id BETWEEN %s AND %s"
        )
        member_params = [campaign.pk, first_id, last_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {delivery} (campaign_id, recipient_id, address, status, error, attempts,
                                    created_at, updated_at)
            SELECT %s, r.id, COALESCE(a.value, {fallback}, ''),
                   CASE WHEN r.opted_out_at IS NOT NULL THEN 'skipped'
                        WHEN COALESCE(a.value, {fallback}) IS NULL THEN 'skipped'
                        ELSE 'pending' END,
                   CASE WHEN r.opted_out_at IS NOT NULL THEN %s
                        WHEN COALESCE(a.value, {fallback}) IS NULL THEN %s
                        ELSE '' END,
                   0, %s, %s
            FROM {recipient} r
            LEFT JOIN {address} a ON a.recipient_id = r.id AND a.channel = %s
            WHERE r.id BETWEEN %s AND %s AND r.id IN ({members})
            ON CONFLICT (campaign_id, recipient_id) DO NOTHING
            """,  # noqa: S608 - table names are quoted model tables; values are parameters
            [
                campaign.pk,
                OPTED_OUT,
                no_address,
                stamp,
                stamp,
                campaign.channel,
                first_id,
                last_id,
                *member_params,
            ],
        )
        # History for the skipped, once even if this range is materialised again.
        cursor.execute(
            f"""
            INSERT INTO {event} (type, occurred_at, created_at, campaign_id, delivery_id,
                                 recipient_id, detail, data, link, sendios_user_id)
            SELECT 'skipped', %s, %s, d.campaign_id, d.id, d.recipient_id, d.error, %s, '', ''
            FROM {delivery} d
            WHERE d.campaign_id = %s AND d.status = 'skipped'
              AND d.recipient_id BETWEEN %s AND %s
              AND NOT EXISTS (SELECT 1 FROM {event} e
                              WHERE e.delivery_id = d.id AND e.type = 'skipped')
            """,  # noqa: S608
            [
                stamp,
                stamp,
                db_value(DeliveryEvent, "data", {}),
                campaign.pk,
                first_id,
                last_id,
            ],
        )


OPTED_OUT = "The recipient opted out."


def campaigns_start_due() -> list[int]:
    """Start scheduled campaigns whose time has come."""
    started = []
    due = Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    for campaign_id in due:
        with transaction.atomic():
            campaign = _locked(campaign_id)
            if campaign.status != Campaign.Status.SCHEDULED:
                continue
            campaign.status = Campaign.Status.RUNNING
            campaign.started_at = timezone.now()
            campaign.save(update_fields=["status", "started_at", "updated_at"])
            if campaign.materialised_at is not None:
                enqueue_senders(campaign_id)
            started.append(campaign_id)
    return started


def campaign_pause(*, campaign_id: int, user: Any = None, reason: str = "") -> Campaign:
    """Stop new sends at once. Requests already under way finish and are recorded."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status not in _PAUSABLE:
            raise _refuse(campaign, "pause")
        campaign.status = Campaign.Status.PAUSED
        who = getattr(user, "get_username", lambda: "")()
        campaign.pause_reason = reason or (f"Paused by {who}." if who else "Paused.")
        campaign.save(update_fields=["status", "pause_reason", "updated_at"])
        _take_back_claims(campaign_id, Delivery.Status.PENDING)
    return campaign


def _take_back_claims(campaign_id: int, status: str, *, count: bool = True) -> int:
    """Claimed deliveries whose request has not begun: out of the workers' hands, to `status`.

    With `count=False` the caller adds the move to the counters itself, with its other moves.
    """
    taken = Delivery.objects.filter(
        campaign_id=campaign_id,
        status=Delivery.Status.SENDING,
        request_started_at__isnull=True,
    ).update(status=status, claim_token=None, lease_expires_at=None, updated_at=timezone.now())
    if count:
        counters_move(
            campaign_id=campaign_id, source=Delivery.Status.SENDING, target=status, count=taken
        )
    return taken


def campaign_resume(*, campaign_id: int, user: Any = None) -> Campaign:
    """Continue a paused campaign where it stopped."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.PAUSED:
            raise _refuse(campaign, "resume")
        now = timezone.now()
        if campaign.started_at is None and campaign.scheduled_at and campaign.scheduled_at > now:
            campaign.status = Campaign.Status.SCHEDULED
        else:
            campaign.status = Campaign.Status.RUNNING
            campaign.started_at = campaign.started_at or now
        campaign.pause_reason = ""
        campaign.consecutive_failures = 0
        campaign.save()
        if campaign.status == Campaign.Status.RUNNING:
            if campaign.materialised_at is None:
                enqueue(campaign_materialise, campaign_id=campaign.pk)
            else:
                enqueue_senders(campaign.pk)
    return campaign


def campaign_cancel(*, campaign_id: int, user: Any = None) -> Campaign:
    """Stop for good: what has not gone out is cancelled; nothing starts after this returns."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status not in _CANCELLABLE:
            raise _refuse(campaign, "cancel")
        campaign.status = Campaign.Status.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
        # Pending rows first, claims second. A worker's claim that holds rows this UPDATE
        # reaches makes it wait, and they are `sending` when it goes on; taking claims back
        # afterwards (a new statement, seeing that claim) cancels them too. In the other order
        # they escaped both, and the worker's release put them back to pending (found by the
        # worker test with real clusters).
        cancelled = Delivery.objects.filter(
            campaign_id=campaign_id, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.CANCELLED, updated_at=timezone.now())
        taken = _take_back_claims(campaign_id, Delivery.Status.CANCELLED, count=False)
        # Counters last and once per transaction, like every other writer: touching them between
        # delivery updates deadlocks against a worker's claim.
        counters_add(
            campaign_id=campaign_id,
            deltas={
                Delivery.Status.SENDING: -taken,
                Delivery.Status.PENDING: -cancelled,
                Delivery.Status.CANCELLED: taken + cancelled,
            },
        )
    return campaign


def _requeue(*, campaign_id: int, source: str, action: str) -> int:
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status not in {
            Campaign.Status.RUNNING,
            Campaign.Status.PAUSED,
            Campaign.Status.COMPLETED,
        }:
            raise _refuse(campaign, action)
        count = Delivery.objects.filter(campaign_id=campaign_id, status=source).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        counters_move(
            campaign_id=campaign_id, source=source, target=Delivery.Status.PENDING, count=count
        )
        if count and campaign.status == Campaign.Status.COMPLETED:
            campaign.status = Campaign.Status.RUNNING
            campaign.finished_at = None
            campaign.save(update_fields=["status", "finished_at", "updated_at"])
        if count and campaign.status == Campaign.Status.RUNNING:
            enqueue_senders(campaign_id)
    return count


def campaign_retry_failed(*, campaign_id: int, user: Any = None) -> int:
    """Send the failed deliveries again; returns how many."""
    return _requeue(campaign_id=campaign_id, source=Delivery.Status.FAILED, action="retry")


def campaign_resend_unknown(*, campaign_id: int, user: Any = None) -> int:
    """Send again the deliveries whose fate is unknown (some may arrive twice); how many."""
    return _requeue(campaign_id=campaign_id, source=Delivery.Status.UNKNOWN, action="resend")


def campaign_send_test(
    *, campaign_id: int, recipient_ids: Iterable[int], user: Any = None
) -> Campaign:
    """Send this campaign's message now to chosen recipients, as a separate test campaign.

    The campaign's own deliveries are untouched; the test send is a child campaign of kind
    `test` with its own deliveries and history.
    """
    ids = sorted(set(recipient_ids))
    if not ids:
        raise TransitionError("Choose at least one recipient to send the test to.")
    if len(ids) > MAX_TEST_RECIPIENTS:
        raise TransitionError(f"A test goes to at most {MAX_TEST_RECIPIENTS} recipients.")
    with transaction.atomic():
        campaign = _locked(campaign_id)
        test = Campaign.objects.create(
            name=f"Test of {campaign.name}"[:200],
            kind=Campaign.Kind.TEST,
            parent=campaign,
            channel=campaign.channel,
            template=campaign.template,
            content=campaign.content or template_fields(campaign.template),
            created_by=user if getattr(user, "pk", None) else None,
        )
        if Recipient.objects.filter(pk__in=ids).count() != len(ids):
            raise TransitionError("Some of the chosen recipients do not exist.")
        _start_now(test, ids)
    return test


MAX_TEST_RECIPIENTS = 50


def _start_now(campaign: Campaign, recipient_ids: Sequence[int]) -> None:
    """Check a new test send or message, make its deliveries and start sending, in the
    caller's transaction; raises TransitionError (and the caller's transaction rolls back)."""
    check = campaign_preflight(campaign=campaign)
    if check.errors:
        raise TransitionError(" ".join(check.errors))
    now = timezone.now()
    campaign.status = Campaign.Status.RUNNING
    campaign.dispatched_at = campaign.started_at = now
    campaign.dispatched_by = campaign.created_by
    campaign.save()
    _materialise_range(campaign, min(recipient_ids), max(recipient_ids), recipient_ids)
    counters_rebuild(campaign_id=campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(materialised_at=now)
    enqueue_senders(campaign.pk)


def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """Mark a running campaign completed when nothing is left pending or in flight."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.RUNNING or campaign.materialised_at is None:
            return False
        open_work = Delivery.objects.filter(
            campaign_id=campaign_id,
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        ).exists()
        if open_work:
            return False
        campaign.status = Campaign.Status.COMPLETED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
    return True


# --- REST API -------------------------------------------------------------------------------
# The API's writes. Recipients and templates get small save/delete services so that API views
# stay thin; bulk upserts reuse `recipients_import`.


def integration_key_create(*, name: str, read_only: bool = False) -> tuple[IntegrationKey, str]:
    """A new API key and its secret; only the hash is stored, so the secret is shown once."""
    return IntegrationKey.objects.create_key(name=name, read_only=read_only)


KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def integration_key_touch(*, key: IntegrationKey) -> None:
    """Record that a key was used; at most once a minute, to keep a write off every request."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < KEY_TOUCH_INTERVAL:
        return
    IntegrationKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


def _save_fields(instance: Any, data: dict[str, Any]) -> None:
    """Insert a new row whole; of an existing one write only the columns in `data`.

    A full save would also write back every other column as this instance last read it, undoing
    what an import or another person changed in the meantime.
    """
    for name, value in data.items():
        setattr(instance, name, value)
    if instance._state.adding:
        instance.save()
        return
    stamps = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
    instance.save(update_fields=[*data, *stamps])


def recipient_save(
    *,
    recipient: Recipient | None,
    data: dict[str, Any],
    addresses: dict[str, str] | None = None,
) -> Recipient:
    """Create or change one recipient; `addresses`, when given, replace the stored ones."""
    with transaction.atomic():
        recipient = recipient or Recipient()
        _save_fields(recipient, data)
        if addresses is not None:
            recipient.addresses.exclude(channel__in=list(addresses)).delete()
            for channel, value in addresses.items():
                Address.objects.update_or_create(
                    recipient=recipient, channel=channel, defaults={"value": value}
                )
        recipient_attributes_register(names=recipient.attributes)
        # SMS callbacks that arrived before this recipient existed now find them.
        sms_events_link_pending(recipient_ids=[recipient.pk])
    return recipient


def _lock(rows: QuerySet) -> None:
    """Lock `rows` for update, in the queryset's order, without loading them."""
    list(rows.select_for_update().values_list("pk", flat=True))


def recipient_delete(*, recipient: Recipient) -> None:
    """Forget a recipient; their deliveries go with them, events stay unlinked.

    The campaigns' counters lose exactly the deliveries deleted, in the same transaction. Locks
    come in the workers' order: the deliveries first (in id order), then the recipient. A worker
    recording one of them either commits first (its new status is the one taken off, and the
    events it wrote are unlinked with the others) or finds the row gone and records nothing.
    Once the recipient is locked no new delivery of theirs can commit (its foreign key check
    waits on the lock), so one materialised meanwhile is either deleted and counted below or
    refused.
    """
    with transaction.atomic():
        _lock(Delivery.objects.filter(recipient=recipient).order_by("id"))
        _lock(Recipient.objects.filter(pk=recipient.pk))
        DeliveryEvent.objects.filter(delivery__recipient=recipient).update(delivery=None)
        # The deltas come from what this statement deleted: a separate SELECT (Django's
        # collector makes one) misses a delivery materialised between the two.
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(Delivery._meta.db_table)} "  # noqa: S608
                f"WHERE {quote('recipient_id')} = %s "
                f"RETURNING {quote('campaign_id')}, {quote('status')}",
                [recipient.pk],
            )
            gone = Counter(cursor.fetchall())
        recipient.delete()
        for campaign_id in sorted({campaign_id for campaign_id, _ in gone}):
            counters_add(
                campaign_id=campaign_id,
                deltas={status: -n for (c, status), n in gone.items() if c == campaign_id},
            )


def address_save(*, address: Address, data: dict[str, Any]) -> Address:
    """Add a recipient's address on a channel, or change one; only `data` is written.

    An address another recipient holds (taken meanwhile, past a form's check) is a
    TransitionError.
    """
    try:
        with transaction.atomic():
            _save_fields(address, data)
    except IntegrityError:
        raise TransitionError(
            f"Cannot save {address.get_channel_display()} address {address.value}: another "
            "recipient has it, or this recipient has one on that channel already."
        ) from None
    return address


def address_delete(*, address: Address) -> None:
    """Forget one address; deliveries already made keep the address they went to."""
    address.delete()


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


def message_template_save(
    *, template: MessageTemplate | None, data: dict[str, Any]
) -> MessageTemplate:
    """Create or change a template; the caller has checked it with `template_errors`."""
    template = template or MessageTemplate()
    _save_fields(template, data)
    return template


def message_template_delete(*, template: MessageTemplate) -> None:
    """Delete a template no campaign uses; raises TransitionError otherwise."""
    try:
        template.delete()
    except ProtectedError:
        raise TransitionError(
            f"Cannot delete template '{template.name}': campaigns use it."
        ) from None


def campaign_save(
    *,
    campaign_id: int | None,
    data: dict[str, Any],
    audiences: Iterable[Audience] | None = None,
    user: Any = None,
) -> Campaign:
    """Create a draft campaign, or change one that is still a draft (else TransitionError).

    Only the fields in `data` are written, under the campaign's lock: workers and transitions
    write the others (status, heartbeat, pause reason), and their changes stay.
    """
    with transaction.atomic():
        if campaign_id is None:
            campaign = Campaign(created_by=user if getattr(user, "pk", None) else None)
        else:
            campaign = _locked(campaign_id)
            if campaign.status != Campaign.Status.DRAFT:
                raise _refuse(campaign, "change")
        _save_fields(campaign, data)
        if audiences is not None:
            campaign.audiences.set(audiences)
        if campaign.sendios_project_id is not None:
            # SMS callbacks that arrived before the campaign had these Sendios ids.
            sms_events_link_pending(campaign_ids=[campaign.pk])
    return campaign


def campaign_delete(*, campaign_id: int) -> None:
    """Delete a draft campaign; one that was dispatched keeps its history (TransitionError).

    So do its test sends: they went out to real people, and a deletion would take them along.
    """
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise _refuse(campaign, "delete")
        if campaign.test_sends.exists():
            raise TransitionError(
                f"Cannot delete '{campaign.name}': its test sends went out and keep their history."
            )
        campaign.delete()


MAX_MESSAGE_RECIPIENTS = 1000


def message_send(
    *,
    channel: str,
    external_ids: Iterable[str],
    template: MessageTemplate | None = None,
    content: dict[str, str] | None = None,
    user: Any = None,
) -> Campaign:
    """Send one message now to a few recipients: a running campaign of kind `transactional`.

    The content is frozen from `template` or given literally as `content`. Raises
    TransitionError, and creates nothing, when a recipient is unknown or the message cannot go
    out on `channel`.
    """
    wanted = sorted(set(external_ids))
    if not wanted:
        raise TransitionError("Name at least one recipient.")
    if len(wanted) > MAX_MESSAGE_RECIPIENTS:
        raise TransitionError(f"A message goes to at most {MAX_MESSAGE_RECIPIENTS} recipients.")
    if (template is None) == (content is None):
        raise TransitionError("Give either a template or a literal content, not both.")
    with transaction.atomic():
        ids = dict(
            Recipient.objects.filter(external_id__in=wanted).values_list("external_id", "pk")
        )
        unknown = [external_id for external_id in wanted if external_id not in ids]
        if unknown:
            raise TransitionError("No recipient has external_id " + ", ".join(unknown) + ".")
        fields = template_fields(template) if template is not None else template_fields_of(content)
        message = Campaign.objects.create(
            name=f"Message: {template.name if template else fields['title'] or fields['body']}"[
                :200
            ],
            kind=Campaign.Kind.TRANSACTIONAL,
            channel=channel,
            template=template,
            content=fields,
            created_by=user if getattr(user, "pk", None) else None,
        )
        _start_now(message, sorted(ids.values()))
    return message


def template_fields_of(content: dict[str, str] | None) -> dict[str, str]:
    """Literal message content as the full set of template fields, missing ones empty."""
    return {name: (content or {}).get(name) or "" for name in TEMPLATE_FIELDS}


class IdempotencyMismatch(Exception):
    """An Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class IdempotentAnswer:
    """The answer to give: `replayed` when it is the stored answer of an earlier request."""

    status_code: int
    body: Any
    replayed: bool


def idempotent_call(
    *,
    owner: str,
    key: str,
    fingerprint: str,
    action: Callable[[], tuple[int, Any]],
    ttl: timedelta,
) -> IdempotentAnswer:
    """Run `action` once per (owner, key) within `ttl`; repeats get the first answer.

    The record is inserted first, in the same transaction as the action's writes: a concurrent
    request with the same key blocks on the unique constraint until this one commits, then
    finds the stored answer, so two identical requests never both send. If the action raises,
    the record rolls back with everything else and the key may be used again.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.select_for_update().get(owner=owner, key=key)
            if record.created_at >= timezone.now() - ttl and record.status_code is not None:
                if record.fingerprint != fingerprint:
                    raise IdempotencyMismatch(
                        "This Idempotency-Key was used with a different request; "
                        "use a new key for a new request."
                    ) from None
                return IdempotentAnswer(record.status_code, record.response, replayed=True)
            # Expired: the key starts a new request.
            record.fingerprint = fingerprint
            record.created_at = timezone.now()
        status_code, body = action()
        record.status_code = status_code
        record.response = body
        record.save()
    return IdempotentAnswer(status_code, body, replayed=False)


def idempotency_records_purge(*, older_than: timedelta) -> int:
    """Forget answers older than the replay window; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


# --- Audiences --------------------------------------------------------------------------------


def audience_save(*, audience: Audience | None, data: dict[str, Any]) -> Audience:
    """Create an audience, or rename / redescribe one; of an existing one only `data` is
    written, so a change made meanwhile to the other field stays.

    A name another audience has (taken meanwhile, past a form's check) is a TransitionError.
    """
    audience = audience or Audience()
    try:
        with transaction.atomic():
            _save_fields(audience, data)
    except IntegrityError:
        raise TransitionError(f"An audience named '{audience.name}' exists.") from None
    return audience


def audience_delete(*, audience: Audience) -> None:
    """Delete an audience no campaign has gone out to (else TransitionError); its members stay.

    A dispatched campaign's audiences are part of its history. Its campaigns are locked first,
    so a draft being dispatched meanwhile either goes first (and the audience stays) or finds
    the audience gone.
    """
    with transaction.atomic():
        campaigns = list(
            Campaign.objects.select_for_update(no_key=True)
            .filter(audiences=audience)
            .order_by("id")
        )
        sent = next((c for c in campaigns if c.status != Campaign.Status.DRAFT), None)
        if sent is not None:
            raise TransitionError(
                f"Cannot delete audience '{audience.name}': campaign '{sent.name}' went out to it."
            )
        audience.delete()


def audience_members_change(
    *, audience: Audience, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> dict[str, int]:
    """Add and remove members by external_id; all named recipients must exist.

    Raises TransitionError naming the unknown ones, and then changes nothing. Adding a member
    twice or removing a non-member is not an error. Returns how many were added and removed.
    """
    add, remove = set(add), set(remove)
    known = dict(
        Recipient.objects.filter(external_id__in=add | remove).values_list("external_id", "pk")
    )
    unknown = sorted((add | remove) - set(known))
    if unknown:
        raise TransitionError("No recipient has external_id " + ", ".join(unknown) + ".")
    with transaction.atomic():
        before = AudienceMember.objects.filter(audience=audience).count()
        AudienceMember.objects.bulk_create(
            [AudienceMember(audience=audience, recipient_id=known[x]) for x in sorted(add)],
            ignore_conflicts=True,
        )
        added = AudienceMember.objects.filter(audience=audience).count() - before
        removed, _ = AudienceMember.objects.filter(
            audience=audience, recipient_id__in=[known[x] for x in remove]
        ).delete()
    return {"added": added, "removed": removed}
