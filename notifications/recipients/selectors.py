"""Reads about recipients: the attributes templates may use, who can be reached on a channel."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.db.models.fields.json import KT

from notifications.content.rendering import RECIPIENT_FIELDS
from notifications.models import (
    Channel,
    Recipient,
    RecipientAttribute,
)


def recipient_attribute_names() -> set[str]:
    """Every attribute name a recipient has had: the variables templates may use."""
    return set(RecipientAttribute.objects.values_list("name", flat=True))


def _variable(name: str) -> F | KT:
    """A template variable as a column: the recipient's own field of that name, else the
    attribute (as `recipient_context` resolves it)."""
    return F(name) if name in RECIPIENT_FIELDS else KT(f"attributes__{name}")


def reachable_recipients(recipients: QuerySet[Recipient], channel: str) -> QuerySet[Recipient]:
    """Those of `recipients` a campaign on `channel` sends to: not opted out, with an address
    on the channel (Imshop addresses default to the recipient's own external_id)."""
    reachable = recipients.filter(opted_out_at__isnull=True)
    if channel != Channel.IMSHOP:
        reachable = reachable.filter(addresses__channel=channel)
    return reachable
