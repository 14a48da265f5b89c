"""Reads about recipients: the attributes templates may use, who can be reached on a channel."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.fields.json import KT

from notifications.audiences.query import audiences_q
from notifications.content.rendering import RECIPIENT_FIELDS
from notifications.models import Address, Audience, Recipient, RecipientAttribute
from notifications.providers.registry import provider_class


def recipient_attribute_names() -> set[str]:
    """Every attribute name a recipient has had: the variables templates may use."""
    return set(RecipientAttribute.objects.values_list("name", flat=True))


def variable_column(name: str) -> F | KT:
    """A template variable as a column: the recipient's own field of that name, else the
    attribute (as `recipient_context` resolves it)."""
    return F(name) if name in RECIPIENT_FIELDS else KT(f"attributes__{name}")


class Reach(StrEnum):
    """Whether a campaign on a channel sends to a recipient, and if not, why (materialisation's
    rule, which `campaigns.materialise` applies in SQL). Each person has exactly one: excluded
    first, then opted out, then no address."""

    REACHABLE = "reachable"
    EXCLUDED = "excluded"
    OPTED_OUT = "opted_out"
    NO_ADDRESS = "no_address"


def recipients_by_reach(
    recipients: QuerySet[Recipient],
    channel: str,
    reach: Reach,
    *,
    excluded: Iterable[Audience] = (),
) -> QuerySet[Recipient]:
    """Those of `recipients` (a campaign's people) a campaign on `channel` reaches, or skips
    for the reason `reach`.

    Recipients in any of the `excluded` audiences are skipped as excluded, whatever else holds;
    of the rest, opted-out recipients are skipped; so are those without an address on the
    channel, unless the channel addresses people by their external_id (Imshop).
    """
    excluded = list(excluded)
    if excluded:
        # By id, as materialisation does: a segment's condition negated would drop the people
        # whose attribute is missing (NULL), where "not excluded" must keep them.
        excluded_ids = Recipient.objects.filter(audiences_q(excluded)).values("pk")
        if reach == Reach.EXCLUDED:
            return recipients.filter(pk__in=excluded_ids)
        recipients = recipients.exclude(pk__in=excluded_ids)
    elif reach == Reach.EXCLUDED:
        return recipients.none()
    if reach == Reach.OPTED_OUT:
        return recipients.filter(opted_out_at__isnull=False)
    if provider_class(channel).external_id_is_default_address:
        has_address = Recipient.objects.filter(pk=OuterRef("pk"))  # the external_id serves
    else:
        has_address = Address.objects.filter(recipient=OuterRef("pk"), channel=channel)
    not_opted_out = recipients.filter(opted_out_at__isnull=True)
    if reach == Reach.NO_ADDRESS:
        return not_opted_out.exclude(Exists(has_address))
    return not_opted_out.filter(Exists(has_address))


def reachable_recipients(
    recipients: QuerySet[Recipient], channel: str, *, excluded: Iterable[Audience] = ()
) -> QuerySet[Recipient]:
    """Those of `recipients` a campaign on `channel` sends to."""
    return recipients_by_reach(recipients, channel, Reach.REACHABLE, excluded=excluded)
