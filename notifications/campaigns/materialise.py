"""Freezing a campaign's audience into deliveries, in the database."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from notifications.audiences.query import audience_q, audiences_q
from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.bulk import db_timestamp, db_value
from notifications.models import (
    Address,
    Audience,
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
    people = Recipient.objects.filter(audiences_q(campaign.audiences.all()))
    bounds = people.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is not None:
        for start in range(bounds["low"], bounds["high"] + 1, chunk):
            with transaction.atomic():
                if not _still_dispatched(campaign):
                    return {}
                deliveries_materialise(campaign, start, start + chunk - 1)
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
    campaign: Campaign, first_id: int, last_id: int, recipient_ids: Sequence[int] = ()
) -> None:
    """Deliveries for the recipients with ids in [first_id, last_id]: those in the campaign's
    audiences (static lists or segments, as they are now), or, when `recipient_ids` is given
    (test sends, messages), exactly those.

    A recipient in one of the campaign's excluded audiences is skipped, "Excluded by" the first
    of them by name; an opted-out one is skipped next, then one without an address.
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
    # ORDER BY: deliveries get ids in recipient order. Senders claim in id order and the send
    # plan counts requests per batch of recipients in that order; without it PostgreSQL's hash
    # join inserted them in whatever order the join produced.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {delivery} (campaign_id, recipient_id, address, status, error, attempts,
                                    created_at, updated_at)
            SELECT campaign_id, id, address,
                   CASE WHEN reason IS NULL THEN 'pending' ELSE 'skipped' END,
                   COALESCE(reason, ''), 0, created_at, updated_at
            FROM (
                SELECT %s AS campaign_id, r.id AS id,
                       COALESCE(a.value, {fallback}, '') AS address,
                       {skipped} AS reason, %s AS created_at, %s AS updated_at
                FROM {recipient} r
                LEFT JOIN {address} a ON a.recipient_id = r.id AND a.channel = %s
                WHERE r.id BETWEEN %s AND %s AND r.id IN ({members})
            ) people
            ORDER BY id
            ON CONFLICT (campaign_id, recipient_id) DO NOTHING
            """,  # noqa: S608 - table names are quoted model tables; values are parameters
            [
                campaign.pk,
                *skipped_params,
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


def _people_sql(people: Q) -> tuple[str, list]:
    """The ids of the recipients `people` selects, as a subquery and its parameters."""
    sql, params = Recipient.objects.filter(people).order_by().values("pk").query.sql_with_params()
    return sql, list(params)


def excluded_by(audience: Audience) -> str:
    """Why a recipient of an excluded audience is skipped."""
    return reason_encode("excluded_by", audience=audience.name)


OPTED_OUT = reason_encode("opted_out")
