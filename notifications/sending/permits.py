"""Permits: the limiter's leave to start a request, waited for without losing the claim.

A turn is a permit and a parallel-request slot; a repeat permit lets a provider repeat a
request within one send (Bitrix24, after a token refresh) only while the claim still holds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from notifications.providers.exceptions import NoPermit
from notifications.providers.limits import Limits

from .claims import begun_lease_seconds, deliveries_restart
from .leases import Lease
from .limiter import Limiter

NO_PERMIT = "the provider's limit leaves no room within this task's time"
REPEAT_STOPPED = "the campaign stopped, or the claim was taken back, before a repeat request"
REPEAT_NO_PERMIT = "the provider's limit left no room for a repeat request in time"
# A repeat within one send already holds its rows and a slot: it waits this long at most.
REPEAT_MAX_WAIT_SECONDS = 10


def _permit(limiter: Limiter, key: str, limits: Limits, last_start: float, lease: Lease) -> bool:
    """Wait for the limiter's next permit for `key`, keeping the claim alive; False when it
    comes after `last_start` (a time.monotonic() value) and nothing was reserved.

    The caller asks `held_for` once the permit is its own: a hold recorded while it waited
    (another sender's quota answer) is waited out with a fresh permit, so senders leave the
    hold spaced at the rate, not all at once.
    """
    left = last_start - time.monotonic()
    if left <= 0:  # the limiter would still grant one at once, past the time allowed
        return False
    wait = limiter.acquire(key, limits, max_wait=left)
    if wait is None:
        return False
    if wait > 0:
        lease.sleep(wait)
    return True


@contextmanager
def turn(
    limiter: Limiter,
    key: str,
    limits: Limits,
    lease: Lease,
    *,
    last_start: float,
    slot_lease: float,
) -> Iterator[str]:
    """A permit and a parallel-request slot, the slot held while the block runs.

    Yields "" when the request may go, else why the send loop must stop. The hold is asked
    once the slot is ours, right before the request: the provider may have told another
    sender to wait (a quota answer holds the whole account) after our permit was reserved or
    while we waited for the slot. Then a fresh permit waits it out; nothing was started, so no
    attempt is used. Every wait keeps the claim alive.
    """
    while True:
        if not _permit(limiter, key, limits, last_start, lease):
            yield NO_PERMIT
            return
        remaining = last_start - time.monotonic()
        with lease.slot(
            limiter, key, limits, max_wait=remaining, slot_lease=slot_lease
        ) as got_slot:
            if not got_slot:
                yield "no parallel-request slot came free within this task's time"
                return
            if limiter.held_for(key) <= 0:
                yield ""
                return


def repeat_permit(
    *,
    limiter: Limiter,
    key: str,
    limits: Limits,
    lease: Lease,
    campaign_id: int,
    token: uuid.UUID,
    ids: list[int],
    last_start: float,
) -> Callable[[], None]:
    """The permit a provider takes before it repeats a request within one send (Bitrix24, after
    a token refresh), raising NoPermit when the repeat must not go.

    The rows are begun and the slot is held, so the wait is short (`REPEAT_MAX_WAIT_SECONDS`),
    and a hold recorded meanwhile is waited out. Then `deliveries_restart` checks, in the same
    statement that extends the rows' lease, that they are still this claim's and the campaign
    still runs: a pause or cancel made while the first request and the refresh were under way
    stops the repeat, as it stops any request that has not begun.
    """

    def still_ours() -> bool:
        # Renews the rows' lease for the repeat too.
        restarted = deliveries_restart(
            campaign_id=campaign_id, token=token, ids=ids, lease_seconds=begun_lease_seconds()
        )
        return restarted == set(ids)

    def permit() -> None:
        if not still_ours():  # stopped during the refused call or the refresh: say so at once
            raise NoPermit(REPEAT_STOPPED)
        until = min(last_start, time.monotonic() + REPEAT_MAX_WAIT_SECONDS)
        while _permit(limiter, key, limits, until, lease):
            if limiter.held_for(key) > 0:
                continue
            if not still_ours():
                raise NoPermit(REPEAT_STOPPED)
            return
        raise NoPermit(REPEAT_NO_PERMIT)

    return permit
