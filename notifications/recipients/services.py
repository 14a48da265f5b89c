"""Writes to one recipient, address or audience: the admin, the API and commands call these."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.save import save_fields
from notifications.errors import InvalidInput, StateConflict
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    Delivery,
    DeliveryEvent,
    Recipient,
    RecipientAttribute,
)
from notifications.recipients.validators import recipients_known
from notifications.sending.counters import counters_add


def recipient_attributes_register(*, names: Iterable[str]) -> None:
    """Remember attribute names so templates may use them as variables."""
    RecipientAttribute.objects.bulk_create(
        [RecipientAttribute(name=name) for name in set(names)], ignore_conflicts=True
    )


def recipient_save(
    *,
    recipient: Recipient | None,
    data: dict[str, Any],
    addresses: dict[str, str] | None = None,
) -> Recipient:
    """Create or change one recipient; `addresses`, when given, replace the stored ones."""
    with transaction.atomic():
        recipient = recipient or Recipient()
        save_fields(recipient, data)
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

    An address another recipient holds (taken meanwhile, past a form's check) is InvalidInput,
    as the form's check would have said.
    """
    try:
        with transaction.atomic():
            save_fields(address, data)
    except IntegrityError:
        raise InvalidInput(
            f"Cannot save {address.get_channel_display()} address {address.value}: another "
            "recipient has it, or this recipient has one on that channel already.",
            field="value",
        ) from None
    return address


def address_delete(*, address: Address) -> None:
    """Forget one address; deliveries already made keep the address they went to."""
    address.delete()


def audience_save(*, audience: Audience | None, data: dict[str, Any]) -> Audience:
    """Create an audience, or rename / redescribe one; of an existing one only `data` is
    written, so a change made meanwhile to the other field stays.

    A name another audience has (taken meanwhile, past a form's check) is InvalidInput.
    """
    audience = audience or Audience()
    try:
        with transaction.atomic():
            save_fields(audience, data)
    except IntegrityError:
        raise InvalidInput(f"An audience named '{audience.name}' exists.", field="name") from None
    return audience


def audience_delete(*, audience: Audience) -> None:
    """Delete an audience no campaign has gone out to (else StateConflict); its members stay.

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
            raise StateConflict(
                f"Cannot delete audience '{audience.name}': campaign '{sent.name}' went out to it."
            )
        audience.delete()


def audience_members_change(
    *, audience: Audience, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> dict[str, int]:
    """Add and remove members by external_id; all named recipients must exist.

    Raises InvalidInput naming the unknown ones, and then changes nothing. Adding a member
    twice or removing a non-member is not an error. Returns how many were added and removed.
    """
    add, remove = set(add), set(remove)
    known = recipients_known(add | remove)
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
