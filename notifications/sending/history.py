"""Which of the deliveries' events the send path writes.

A "sent" event would only repeat its delivery row (status `sent`, `sent_at`), which our pages
and the API read instead, and it would cost a row and its index entries for every message that
goes. So the send path writes one only while an outside reader of the history wants it:
outbound webhooks read the history as their outbox, and an endpoint subscribed to
`delivery.sent` needs the event. Such readers say what they want here, from their app's
`ready()`; each is asked with every batch of results, in the transaction that records them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..models import DeliveryEvent

# Event types written only while a reader wants them.
ON_REQUEST = frozenset({DeliveryEvent.Type.SENT})

_readers: list[Callable[[], Iterable[str]]] = []


def history_reader_add(wanted: Callable[[], Iterable[str]]) -> None:
    """Register a reader of the history: `wanted()` returns the event types it needs now."""
    if wanted not in _readers:
        _readers.append(wanted)


def events_unwanted() -> frozenset[str]:
    """The event types written on request that no reader wants now."""
    wanted: set[str] = set()
    for reader in _readers:
        wanted.update(reader())
    return ON_REQUEST - wanted
