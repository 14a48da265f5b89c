"""Per-campaign delivery counts by status, kept as statuses change.

Every bulk status change knows how many rows it moved from which status to which; it adds those
numbers here in the same transaction. Reading progress is then a handful of rows, however many
deliveries a campaign has.

Rule for writers: add to the counters once per transaction, after every delivery update. The
counter rows are shared by all workers of a campaign; taking them between two delivery updates
lets a worker's claim and this transaction wait on each other (a deadlock).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connection
from django.db.models import Count

from ..models import Delivery, DeliveryCounter


def counters_add(*, campaign_id: int, deltas: Mapping[str, int]) -> None:
    """Add `deltas` (status -> change) to a campaign's counts, in the caller's transaction."""
    changes = sorted((status, delta) for status, delta in deltas.items() if delta)
    if not changes:
        return
    quote = connection.ops.quote_name
    table = quote(DeliveryCounter._meta.db_table)
    count = quote("count")
    # Sorted statuses: two transactions touching the same rows lock them in the same order.
    values = ", ".join(["(%s, %s, %s)"] * len(changes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quote('campaign_id')}, {quote('status')}, {count}) "  # noqa: S608
            f"VALUES {values} ON CONFLICT ({quote('campaign_id')}, {quote('status')}) "
            f"DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
            [value for status, delta in changes for value in (campaign_id, status, delta)],
        )


def counters_move(*, campaign_id: int, source: str, target: str, count: int) -> None:
    """Record that `count` deliveries went from status `source` to `target`."""
    if count and source != target:
        counters_add(campaign_id=campaign_id, deltas={source: -count, target: count})


def counters_rebuild(*, campaign_id: int) -> dict[str, int]:
    """Recount a campaign's deliveries from the rows themselves and store the result."""
    actual = dict(
        Delivery.objects.filter(campaign_id=campaign_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    DeliveryCounter.objects.filter(campaign_id=campaign_id).delete()
    DeliveryCounter.objects.bulk_create(
        DeliveryCounter(campaign_id=campaign_id, status=status, count=n)
        for status, n in actual.items()
    )
    return actual


def counters_read(*, campaign_id: int) -> dict[str, int]:
    """The campaign's deliveries per status, from the counters."""
    return dict(
        DeliveryCounter.objects.filter(campaign_id=campaign_id, count__gt=0).values_list(
            "status", "count"
        )
    )
