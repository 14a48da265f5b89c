"""Freezing a campaign's audience into deliveries, in the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from notifications.audiences.query import audience_q, audiences_q
from notifications.campaigns.plan import channel_limits
from notifications.campaigns.quiet_hours import recipients_per_second, spread_offset, zone_openings
from notifications.campaigns.sending_rules import recipients_default_zone, send_window_of
from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.bulk import db_timestamp, db_value, sql_plus_seconds
from notifications.db.statistics import statistics_refresh
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    Delivery,
    DeliveryEvent,
    Recipient,
)
from notifications.providers.registry import provider_class
from notifications.reasons import reason_encode
from notifications.sending.counters import counters_read, counters_rebuild
from notifications.sending.wake import enqueue_senders


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
    # An import just before the dispatch leaves the planner blind to the audience's size.
    statistics_refresh([Recipient, Address, AudienceMember])
    people = Recipient.objects.filter(audiences_q(campaign.audiences.all()))
    bounds = people.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is not None:
        # Those held so far per window opening: the next range's are let out after them.
        held: Counter[datetime] = Counter()
        for start in range(bounds["low"], bounds["high"] + 1, chunk):
            with transaction.atomic():
                if not _still_dispatched(campaign):
                    return {}
                held += deliveries_materialise(campaign, start, start + chunk - 1, held_before=held)
            # A heartbeat: the tick restarts a materialisation only when this stops.
            Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=timezone.now())
    with transaction.atomic():
        if not _still_dispatched(campaign):
            return {}
        counts = counters_rebuild(campaign_id=campaign_id)
        Campaign.objects.filter(pk=campaign_id).update(materialised_at=timezone.now())
        # SMS callbacks that arrived before the campaign started or its deliveries existed.
        sms_events_link_pending(campaign_ids=[campaign_id])
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.RUNNING:
            enqueue_senders(campaign_id)
    return counts


def _still_dispatched(campaign: Campaign) -> bool:
    """Whether the campaign is still the dispatch this materialisation began for, holding its
    lock to the end of the caller's transaction: an unschedule (back to a draft, its deliveries
    deleted) waits for the chunk under way, and the next chunk stops."""
    now = (
        Campaign.objects.select_for_update(no_key=True)
        .filter(pk=campaign.pk)
        .values_list("status", "dispatched_at")
        .first()
    )
    return (
        now is not None
        and now[0] != Campaign.Status.DRAFT
        and (campaign.kind != Campaign.Kind.CAMPAIGN or now[1] == campaign.dispatched_at)
    )


def deliveries_materialise(
    campaign: Campaign,
    first_id: int,
    last_id: int,
    recipient_ids: Sequence[int] = (),
    held_before: Mapping[datetime, int] | None = None,
) -> Counter[datetime]:
    """Deliveries for the recipients with ids in [first_id, last_id]: those in the campaign's
    audiences (static lists or segments, as they are now), or, when `recipient_ids` is given
    (test sends, messages), exactly those.

    A recipient in one of the campaign's excluded audiences is skipped, "Excluded by" the first
    of them by name; an opted-out one is skipped next, then one without an address.

    With the campaign's send window on, a pending delivery whose recipient is outside it now
    waits for its opening (`notifications.campaigns.quiet_hours`), after the `held_before`
    already waiting for the same opening. Returns how many wait, per opening.
    """
    quote = connection.ops.quote_name
    delivery = quote(Delivery._meta.db_table)
    recipient = quote(Recipient._meta.db_table)
    address = quote(Address._meta.db_table)
    event = quote(DeliveryEvent._meta.db_table)
    stamp = db_timestamp(timezone.now())
    # Where the channel says so (Imshop), the address defaults to the recipient's external_id.
    default_is_external_id = provider_class(campaign.channel).external_id_is_default_address
    fallback = "r.external_id" if default_is_external_id else "NULL"
    no_address = reason_encode("no_address", channel=campaign.channel)
    within = (first_id, last_id)
    exclusions, exclusion_params = "", []
    if recipient_ids:
        members, member_params = ", ".join(["%s"] * len(recipient_ids)), list(recipient_ids)
    else:
        members, member_params = _people_sql(audiences_q(campaign.audiences.all(), within=within))
        for audience in campaign.excluded_audiences.order_by("name", "pk"):
            sql, params = _people_sql(audience_q(audience, within=within))
            exclusions += f"WHEN r.id IN ({sql}) THEN %s "
            exclusion_params += [*params, excluded_by(audience)]
    # Reasons in order of precedence; every skip condition is in `skipped`.
    skipped = f"CASE {exclusions}WHEN r.opted_out_at IS NOT NULL THEN %s"
    skipped += f" WHEN COALESCE(a.value, {fallback}) IS NULL THEN %s ELSE NULL END"
    skipped_params = [*exclusion_params, OPTED_OUT, no_address]
    hold = _Hold.of(campaign, first_id, last_id, recipient_ids, held_before or {})
    # ORDER BY: deliveries get ids in recipient order. Senders claim in id order and the send
    # plan counts requests per batch of recipients in that order; without it PostgreSQL's hash
    # join inserted them in whatever order the join produced.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {delivery} (campaign_id, recipient_id, address, status, error, attempts,
                                    next_attempt_at, created_at, updated_at)
            SELECT campaign_id, id, address,
                   CASE WHEN reason IS NULL THEN 'pending' ELSE 'skipped' END,
                   COALESCE(reason, ''), 0, {hold.due_sql}, created_at, updated_at
            FROM (
                SELECT %s AS campaign_id, r.id AS id,
                       COALESCE(a.value, {fallback}, '') AS address,
                       {skipped} AS reason, {hold.opening_sql} AS held_at,
                       %s AS created_at, %s AS updated_at
                FROM {recipient} r
                LEFT JOIN {address} a ON a.recipient_id = r.id AND a.channel = %s
                WHERE r.id BETWEEN %s AND %s AND r.id IN ({members})
            ) people
            ORDER BY id
            ON CONFLICT (campaign_id, recipient_id) DO NOTHING
            """,  # noqa: S608 - table names are quoted model tables; values are parameters
            [
                *hold.due_params,
                campaign.pk,
                *skipped_params,
                *hold.opening_params,
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
        return hold.count(cursor, delivery=delivery, recipient=recipient)


@dataclass(frozen=True)
class _Hold:
    """Who of a range of recipients waits for the campaign's send window, as SQL for the
    INSERT: `opening_sql` gives a recipient's opening from their zone (NULL when inside the
    window), `due_sql` the pending row's `next_attempt_at`, spread after those already held."""

    campaign_id: int
    first_id: int
    last_id: int
    openings: dict[str, datetime]
    opening_sql: str = "NULL"
    opening_params: tuple = ()
    due_sql: str = "NULL"
    due_params: tuple = ()

    @classmethod
    def of(
        cls,
        campaign: Campaign,
        first_id: int,
        last_id: int,
        recipient_ids: Sequence[int],
        held_before: Mapping[datetime, int],
    ) -> _Hold:
        window = send_window_of(campaign)
        openings: dict[str, datetime] = {}
        if window is not None:
            people = Recipient.objects.filter(pk__range=(first_id, last_id))
            if recipient_ids:
                people = people.filter(pk__in=recipient_ids)
            zones = people.order_by().values_list("timezone", flat=True).distinct()
            openings = zone_openings(
                window, zones, timezone.now(), default=recipients_default_zone()
            )
        if not openings:
            return cls(campaign.pk, first_id, last_id, openings)
        per_second = recipients_per_second(channel_limits(campaign.channel))
        # Each zone's opening, moved past those already waiting for it (zones sharing an
        # opening share the wait, and so the partition below).
        start_of = {
            name: opening + spread_offset(held_before.get(opening, 0), per_second)
            for name, opening in openings.items()
        }
        timestamp = "CAST(%s AS timestamptz)" if connection.vendor == "postgresql" else "%s"
        cases = " ".join(f"WHEN %s THEN {timestamp}" for _ in start_of)
        position = "ROW_NUMBER() OVER (PARTITION BY held_at, reason IS NULL ORDER BY id) - 1"
        return cls(
            campaign.pk,
            first_id,
            last_id,
            openings,
            opening_sql=f"CASE r.timezone {cases} ELSE NULL END",
            opening_params=tuple(
                value for name, at in start_of.items() for value in (name, db_timestamp(at))
            ),
            due_sql="CASE WHEN reason IS NULL AND held_at IS NOT NULL THEN "
            f"{sql_plus_seconds('held_at', f'({position}) * %s')} END",
            due_params=(1 / per_second if per_second else 0,),
        )

    def count(self, cursor, *, delivery: str, recipient: str) -> Counter[datetime]:
        """How many of the range wait, per opening (read back: the INSERT skips rows that
        exist, and says nothing of which)."""
        if not self.openings:
            return Counter()
        cursor.execute(
            f"SELECT r.timezone, COUNT(*) FROM {delivery} d "  # noqa: S608 - quoted tables
            f"JOIN {recipient} r ON r.id = d.recipient_id "
            "WHERE d.campaign_id = %s AND d.recipient_id BETWEEN %s AND %s "
            "AND d.status = %s AND d.next_attempt_at IS NOT NULL GROUP BY r.timezone",
            [self.campaign_id, self.first_id, self.last_id, Delivery.Status.PENDING],
        )
        held: Counter[datetime] = Counter()
        for name, count in cursor.fetchall():
            if name in self.openings:
                held[self.openings[name]] += count
        return held


def _people_sql(people: Q) -> tuple[str, list]:
    """The ids of the recipients `people` selects, as a subquery and its parameters."""
    sql, params = Recipient.objects.filter(people).order_by().values("pk").query.sql_with_params()
    return sql, list(params)


def excluded_by(audience: Audience) -> str:
    """Why a recipient of an excluded audience is skipped."""
    return reason_encode("excluded_by", audience=audience.name)


OPTED_OUT = reason_encode("opted_out")
