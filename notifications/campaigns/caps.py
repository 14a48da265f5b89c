"""Frequency caps: at most N marketing messages to one recipient per rolling day or week, on
one channel or across all of them (`FrequencyCap`, the site's policies staff edit).

What counts is a `CountedSend`: a delivery of a marketing campaign whose request began, written
in the same transaction that marks the request begun (`deliveries_start_capped`). It counts
while its delivery is in flight, sent or unknown; a failed or retried message reached nobody.
Test sends and transactional messages neither count nor are capped. A campaign with caps off
(`Campaign.caps_on`) is not held back, but what it sends counts against the others.

Only a channel some active policy covers is counted: without policies a message costs nothing
more. A policy made or turned on counts what went out before it from the deliveries
(`counted_sends_backfill`), so "5 a week" made on Friday counts the whole week.

Exact under concurrency: the start locks its recipients' rows (PostgreSQL; SQLite's one writer
holds the whole transaction) before counting, so two senders racing for one recipient never
both pass a cap of 1: the second counts the first's message once the first commits.

A capped delivery is deferred (pending, `next_attempt_at` at the earliest moment every cap
allows it, not an attempt) or skipped, as its campaign says (`Campaign.capped_action`).

What the pages show of the caps (the plan's forecast, the deliveries a cap held back) is read
in `capped.py`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.db.bulk import db_timestamp
from notifications.db.statistics import statistics_refresh
from notifications.models import (
    Campaign,
    CappedAction,
    CountedSend,
    Delivery,
    FrequencyCap,
    Recipient,
    cap_reason_code,
)
from notifications.reasons import reason_encode
from notifications.sending.claims import deliveries_start

PERIODS = {
    FrequencyCap.Period.DAY: timedelta(days=1),
    FrequencyCap.Period.WEEK: timedelta(days=7),
}
LONGEST_PERIOD = max(PERIODS.values())
Status = Delivery.Status
# A counted send's delivery counts in these states, and in flight (sending, its request begun):
# for the send path (`sends_counted`) and the pages' forecast (`capped.py`) alike.
COUNTED_STATUSES = (Status.SENT, Status.UNKNOWN)
COUNTING = Q(delivery__status__in=COUNTED_STATUSES) | Q(
    delivery__status=Status.SENDING, delivery__request_started_at__isnull=False
)


@dataclass(frozen=True)
class Cap:
    """One policy as the send path applies it."""

    limit: int
    period: timedelta
    channel: str  # "" for every channel together
    reason: str  # the policy as a stored reason: '2 a day on Imshop push'

    def counts(self, channel: str) -> bool:
        """Whether a message on `channel` counts against this cap."""
        return not self.channel or self.channel == channel


def caps_for(channel: str) -> tuple[Cap, ...]:
    """The active policies a message on `channel` must respect."""
    return tuple(
        Cap(policy.limit, PERIODS[policy.period], policy.channel, cap_reason_code(policy))
        for policy in FrequencyCap.objects.filter(active=True).order_by("channel", "period")
        if not policy.channel or policy.channel == channel
    )


def counts_against_caps(campaign: Campaign) -> bool:
    """Whether `campaign`'s messages are marketing ones: counted, and capped unless turned off."""
    return campaign.kind == Campaign.Kind.CAMPAIGN


@dataclass(frozen=True)
class Capped:
    """Why a delivery may not go now: the first cap it reached, and when every cap allows it."""

    cap: Cap
    allowed_at: datetime


def cap_verdict(
    caps: Iterable[Cap], channel: str, sent: Sequence[tuple[str, datetime]], now: datetime
) -> Capped | None:
    """Whether one more message on `channel` to a recipient who was sent `sent` (channel, time)
    breaks a cap at `now`: None when it may go, else the first cap it breaks and the earliest
    moment none is broken (when enough of the messages counted have aged out of every period)."""
    first: Cap | None = None
    allowed_at = now
    for cap in caps:
        times = sorted(at for sent_on, at in sent if cap.counts(sent_on) and at > now - cap.period)
        if len(times) < cap.limit:
            continue
        first = first or cap
        # The count falls below the limit when the (len - limit + 1)-th oldest ages out.
        allowed_at = max(allowed_at, times[len(times) - cap.limit] + cap.period)
    return None if first is None else Capped(first, allowed_at)


def sends_counted(
    recipient_ids: Iterable[int], *, since: datetime
) -> dict[int, list[tuple[str, datetime]]]:
    """The counted messages to each of `recipient_ids` after `since`: (channel, time)."""
    ids = list(recipient_ids)
    sent: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    if not ids:
        return sent
    rows = CountedSend.objects.filter(
        COUNTING,
        recipient_id__in=ids,
        sent_at__gt=since,
    ).values_list("recipient_id", "channel", "sent_at")
    for recipient_id, channel, at in rows:
        sent[recipient_id].append((channel, at))
    return sent


@dataclass
class CapCheck:
    """What a sender needs to start a claim's requests under the caps: the campaign's channel,
    the policies it respects (none when its caps are off: its messages are only counted), and
    what it does to those capped."""

    channel: str
    caps: tuple[Cap, ...]
    action: str

    @classmethod
    def of(cls, campaign: Campaign) -> CapCheck | None:
        """None when nothing is counted: a test send, a transactional message, or a channel no
        active policy covers (a policy made later counts what went before it from the
        deliveries, `counted_sends_backfill`). Its requests start as they always did."""
        if not counts_against_caps(campaign):
            return None
        caps = caps_for(campaign.channel)
        if not caps:
            return None
        # The counted sends grow from nothing as a campaign goes: unanalysed, PostgreSQL reads
        # the whole table for each request's recipients (5.4 times the time of a campaign
        # without caps, on two processes) where their index finds them.
        statistics_refresh([CountedSend])
        return cls(campaign.channel, caps if campaign.caps_on else (), campaign.capped_action)

    def reason(self, capped: Capped) -> str:
        """What a capped delivery's row says: deferred or skipped, by which cap."""
        code = "capped_skipped" if self.action == CappedAction.SKIP else "capped_deferred"
        return reason_encode(code, cap=capped.cap.reason)


def deliveries_start_capped(
    *,
    check: CapCheck,
    campaign_id: int,
    token: uuid.UUID,
    ids: Sequence[int],
    recipients: Mapping[int, int],
    calls: int = 1,
    content_version: int | None = None,
) -> tuple[set[int], dict[int, Capped]]:
    """`deliveries_start` for a marketing campaign: the ids whose request may begin now begin,
    each counted; returns them, and those a cap holds back (still claimed, for the caller to
    defer or skip).

    One transaction: the recipients' rows are locked in id order (so two senders wait for each
    other, never deadlock), the messages counted so far are read, the allowed rows start and
    their counted sends are written; the next sender to lock a recipient counts them.
    """
    if not ids:
        return set(), {}
    now = timezone.now()
    people = {pk: recipients[pk] for pk in ids}
    with transaction.atomic():
        capped: dict[int, Capped] = {}
        if check.caps:
            _recipients_lock(people.values())
            longest = max(cap.period for cap in check.caps)
            sent = sends_counted(people.values(), since=now - longest)
            for pk, recipient_id in people.items():
                verdict = cap_verdict(check.caps, check.channel, sent.get(recipient_id, ()), now)
                if verdict is not None:
                    capped[pk] = verdict
        started = deliveries_start(
            campaign_id=campaign_id,
            token=token,
            ids=[pk for pk in ids if pk not in capped],
            calls=calls,
            content_version=content_version,
        )
        sends_count(started, people, check.channel, now)
    return started, capped


def _recipients_lock(recipient_ids: Iterable[int]) -> None:
    """Lock the recipients' rows until the transaction ends (PostgreSQL; SQLite's write lock is
    already the transaction's). FOR NO KEY UPDATE: a new delivery's foreign-key check still goes
    by, an edit of the recipient waits a moment."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(Recipient._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",  # noqa: S608
            [sorted(set(recipient_ids))],
        )


def sends_count(
    started: Iterable[int], recipients: Mapping[int, int], channel: str, now: datetime
) -> None:
    """Write the counted sends of the deliveries whose request just began (a retry's row is
    moved to its new start)."""
    rows = [(pk, recipients[pk]) for pk in sorted(started)]
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(CountedSend._meta.db_table)
    stamp = db_timestamp(now)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [value for pk, recipient_id in rows for value in (pk, recipient_id, channel, stamp)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (delivery_id, recipient_id, channel, sent_at) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (delivery_id) DO UPDATE SET sent_at = excluded.sent_at",
            params,
        )


def counted_sends_backfill(*, channel: str = "", now: datetime | None = None) -> int:
    """Count what marketing campaigns on `channel` (every channel: "") sent within the longest
    period before their messages were counted, for a policy just made or turned on: a cap of 5
    a week made on Friday counts the week's messages. Reads the deliveries of the campaigns
    that may have sent since (not finished before it), through their (campaign, status) index;
    rows already counted stay. Returns how many it added."""
    since = (now or timezone.now()) - LONGEST_PERIOD
    campaigns = Campaign.objects.filter(
        Q(finished_at__isnull=True) | Q(finished_at__gt=since),
        kind=Campaign.Kind.CAMPAIGN,
        started_at__isnull=False,
    )
    if channel:
        campaigns = campaigns.filter(channel=channel)
    quote = connection.ops.quote_name
    delivery = quote(Delivery._meta.db_table)
    campaign = quote(Campaign._meta.db_table)
    table = quote(CountedSend._meta.db_table)
    added = 0
    with connection.cursor() as cursor:
        for campaign_id in campaigns.values_list("pk", flat=True):
            cursor.execute(
                f"INSERT INTO {table} (delivery_id, recipient_id, channel, sent_at) "  # noqa: S608
                "SELECT d.id, d.recipient_id, c.channel, at FROM ("
                "SELECT id, recipient_id, campaign_id, CASE status WHEN %s THEN sent_at "
                "WHEN %s THEN request_started_at ELSE updated_at END AS at "
                f"FROM {delivery} WHERE campaign_id = %s AND (status IN (%s, %s) "
                "OR (status = %s AND request_started_at IS NOT NULL))) d "
                f"JOIN {campaign} c ON c.id = d.campaign_id WHERE at > %s "
                "ON CONFLICT (delivery_id) DO NOTHING",
                [
                    Status.SENT,
                    Status.SENDING,
                    campaign_id,
                    Status.SENT,
                    Status.UNKNOWN,
                    Status.SENDING,
                    db_timestamp(since),
                ],
            )
            added += cursor.rowcount
    return added


def counted_sends_purge(
    *, batch: int = 5000, most: int = 50_000, now: datetime | None = None
) -> int:
    """Remove counted sends older than the longest period, oldest deliveries first, `batch`
    rows a statement (no statement holds its locks for long) and at most `most` a call (the
    tick's turn stays short; the next tick goes on). Returns how many went."""
    cutoff = (now or timezone.now()) - LONGEST_PERIOD
    removed = 0
    while removed < most:
        old = list(
            CountedSend.objects.filter(sent_at__lt=cutoff)
            .order_by("delivery_id")
            .values_list("delivery_id", flat=True)[: min(batch, most - removed)]
        )
        if not old:
            break
        removed += CountedSend.objects.filter(delivery_id__in=old).delete()[0]
    return removed
