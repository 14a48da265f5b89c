"""The columns of each export, and its rows read straight from the database.

Rows come from `values_list(...).iterator()`, in chunks, so an export of a million rows never
holds more than one chunk of them: no model instances, no whole queryset in memory. Values
stay Python values (a datetime is still a datetime); the writers decide how each format
shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import Case, F, PositiveIntegerField, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notifications.campaigns.versions import tried_with
from notifications.reasons import reason_text

from ..models import Delivery, DeliveryEvent, RecipientAttribute

# Rows fetched per round trip: large enough that the round trips don't dominate, small
# enough that a chunk is a few megabytes at most.
CHUNK_ROWS = 2_000


@dataclass(frozen=True)
class Export:
    """One kind of export: its name in file names, its headings, and how to read its rows.

    `fields` are read with `values_list` after `annotations`; `shape` turns one such tuple
    into the row of cells under `headings`.
    """

    name: str
    headings: tuple[str, ...]
    fields: tuple[str, ...]
    shape: Callable[[tuple], tuple]
    annotations: dict = field(default_factory=dict)

    def rows(self, queryset: QuerySet) -> Iterator[tuple]:
        """The rows of `queryset`, in its order, a chunk at a time."""
        values = queryset.annotate(**self.annotations).values_list(*self.fields)
        for values_row in values.iterator(chunk_size=CHUNK_ROWS):
            yield self.shape(values_row)


# Labels are translated lazily: a cell takes the text (str) in the language of the export.
DELIVERY_STATUS = dict(Delivery.Status.choices)
EVENT_TYPE = dict(DeliveryEvent.Type.choices)


def _full_name(first: str, last: str) -> str:
    return " ".join(part for part in (first, last) if part)


def _delivery_row(values: tuple) -> tuple:
    campaign, external_id, first, last, address, status, version, attempts, sent_at, error = values
    return (
        campaign,
        external_id,
        _full_name(first, last),
        address,
        str(DELIVERY_STATUS.get(status, status)),
        version,
        attempts,
        sent_at,
        reason_text(error),
    )


def delivery_export() -> Export:
    """A campaign's deliveries: who, where, how it went, and with which message version."""
    return Export(
        name="deliveries",
        headings=(
            _("Campaign"),
            _("Recipient"),
            pgettext_lazy("person", "Name"),
            _("Sent to"),
            _("Status"),
            _("Message version"),
            _("Tries"),
            _("Sent at"),
            _("Error"),
        ),
        fields=(
            "campaign__name",
            "recipient__external_id",
            "recipient__first_name",
            "recipient__last_name",
            "address",
            "status",
            "export_version",
            "attempts",
            "sent_at",
            "error",
        ),
        # The version a delivery was tried with, by the one rule (none yet tried: no version).
        annotations={
            "export_version": Case(
                When(tried_with(1), then=Value(1, output_field=PositiveIntegerField())),
                default=F("content_version"),
            )
        },
        shape=_delivery_row,
    )


def _event_row(values: tuple) -> tuple:
    occurred_at, event_type, campaign, external_id, sms_id, link, detail = values
    return (
        occurred_at,
        str(EVENT_TYPE.get(event_type, event_type)),
        campaign,
        external_id,
        sms_id,
        link,
        reason_text(detail),
    )


def event_export() -> Export:
    """Events of deliveries and SMS callbacks: when, what, for whom, and the link followed."""
    return Export(
        name="events",
        headings=(
            _("When"),
            _("Event"),
            _("Campaign"),
            _("Recipient"),
            _("SMS number"),
            _("Link followed"),
            _("Detail"),
        ),
        fields=(
            "occurred_at",
            "type",
            "campaign__name",
            "recipient__external_id",
            "sms_id",
            "link",
            "detail",
        ),
        shape=_event_row,
    )


def recipient_export() -> Export:
    """Recipients with their names, phone, opt-out and one column per registered attribute.

    The attributes are the registry's as it is now, each under its label; a recipient
    without a value leaves the cell empty.
    """
    attributes = list(RecipientAttribute.objects.values_list("name", "label"))
    names = [name for name, _ in attributes]

    def shape(values: tuple) -> tuple:
        *own, stored = values
        stored = stored or {}
        return (*own, *(stored.get(name) for name in names))

    return Export(
        name="recipients",
        headings=(
            _("Recipient"),
            _("First name"),
            _("Last name"),
            _("Phone"),
            _("Opted out at"),
            *(label or name for name, label in attributes),
        ),
        fields=("external_id", "first_name", "last_name", "phone", "opted_out_at", "attributes"),
        shape=shape,
    )
