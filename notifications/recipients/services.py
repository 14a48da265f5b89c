"""Writes to one recipient, address or audience: the admin, the API and commands call these."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from notifications.audiences.services import audience_sizes_add
from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.save import save_fields
from notifications.errors import InvalidInput
from notifications.models import (
    Address,
    AudienceMember,
    CountedSend,
    Delivery,
    DeliveryEvent,
    Recipient,
)
from notifications.recipients.attributes import attributes_typed, recipient_attributes_register
from notifications.sending.counters import counters_add


def recipient_save(
    *,
    recipient: Recipient | None,
    data: dict[str, Any],
    addresses: dict[str, str] | None = None,
) -> Recipient:
    """Create or change one recipient; `addresses`, when given, replace the stored ones.

    Attribute values are stored in their registered types (InvalidInput on `attributes` when
    one is not of its type).
    """
    if "attributes" in data:
        data = {**data, "attributes": attributes_typed(data["attributes"] or {})}
    with transaction.atomic():
        recipient = recipient or Recipient()
        save_fields(recipient, data)
        if addresses is not None:
            recipient.addresses.exclude(channel__in=list(addresses)).delete()
            for channel, value in addresses.items():
                Address.objects.update_or_create(
                    recipient=recipient, channel=channel, defaults={"value": value}
                )
        recipient_attributes_register(attributes=[recipient.attributes])
        # SMS callbacks that arrived before this recipient existed now find them.
        sms_events_link_pending(recipient_ids=[recipient.pk])
    return recipient


def _lock(rows: QuerySet) -> None:
    """Lock `rows` for update, in the queryset's order, without loading them."""
    list(rows.select_for_update().values_list("pk", flat=True))


def recipient_delete(*, recipient: Recipient) -> None:
    """Forget a recipient; their deliveries go with them, events stay unlinked.

    The campaigns' counters lose exactly the deliveries deleted, in the same transaction. Locks
    come in the workers' order. First the recipient, FOR NO KEY UPDATE, as a sender counting
    frequency caps takes it before its deliveries: a sender starting a request to them finishes
    its start first (this lock lets a new delivery's or event's foreign-key check by, so a worker
    recording one of their deliveries is not held up by it). Then their deliveries (in id order),
    then the recipient again, FOR UPDATE. A worker recording one of them either commits first
    (its new status is the one taken off, and the events it wrote are unlinked with the others)
    or finds the row gone and records nothing.
    Once the recipient is locked no new delivery of theirs can commit (its foreign key check
    waits on the lock), so one materialised meanwhile is either deleted and counted below or
    refused.
    """
    with transaction.atomic():
        list(
            Recipient.objects.filter(pk=recipient.pk)
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
        _lock(Delivery.objects.filter(recipient=recipient).order_by("id"))
        _lock(Recipient.objects.filter(pk=recipient.pk))
        DeliveryEvent.objects.filter(delivery__recipient=recipient).update(delivery=None)
        # What the frequency caps counted of theirs goes first: it points at the deliveries.
        CountedSend.objects.filter(recipient=recipient).delete()
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
        memberships = Counter(
            AudienceMember.objects.filter(recipient=recipient).values_list("audience_id", flat=True)
        )
        recipient.delete()
        audience_sizes_add(deltas={audience_id: -n for audience_id, n in memberships.items()})
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
            gettext(
                "Cannot save %(channel)s address %(value)s: another recipient has it, "
                "or this recipient has one on that channel already."
            )
            % {"channel": address.get_channel_display(), "value": address.value},
            field="value",
        ) from None
    return address


def address_delete(*, address: Address) -> None:
    """Forget one address; deliveries already made keep the address they went to."""
    address.delete()
