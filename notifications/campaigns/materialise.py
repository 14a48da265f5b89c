"""Freezing a campaign's audience into deliveries, in the database."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from notifications.campaigns.sms import sms_events_link_pending
from notifications.db.bulk import db_timestamp, db_value
from notifications.models import (
    Address,
    AudienceMember,
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    Recipient,
)
from notifications.providers.registry import provider_class
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
    members = AudienceMember.objects.filter(audience__campaigns=campaign)
    bounds = members.aggregate(low=Min("recipient_id"), high=Max("recipient_id"))
    if bounds["low"] is not None:
        for start in range(bounds["low"], bounds["high"] + 1, chunk):
            with transaction.atomic():
                deliveries_materialise(campaign, start, start + chunk - 1)
            # A heartbeat: the tick restarts a materialisation only when this stops.
            Campaign.objects.filter(pk=campaign_id).update(worker_seen_at=timezone.now())
    with transaction.atomic():
        counts = counters_rebuild(campaign_id=campaign_id)
        Campaign.objects.filter(pk=campaign_id).update(materialised_at=timezone.now())
        # SMS callbacks that arrived before the campaign started or its deliveries existed.
        sms_events_link_pending(campaign_ids=[campaign_id])
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.RUNNING:
            enqueue_senders(campaign_id)
    return counts


def deliveries_materialise(
    campaign: Campaign, first_id: int, last_id: int, recipient_ids: Sequence[int] = ()
) -> None:
    """Deliveries for the recipients with ids in [first_id, last_id]: members of the campaign's
    audiences, or, when `recipient_ids` is given (test sends, messages), exactly those."""
    quote = connection.ops.quote_name
    delivery = quote(Delivery._meta.db_table)
    recipient = quote(Recipient._meta.db_table)
    address = quote(Address._meta.db_table)
    member = quote(AudienceMember._meta.db_table)
    campaign_audiences = quote(Campaign.audiences.through._meta.db_table)
    event = quote(DeliveryEvent._meta.db_table)
    stamp = db_timestamp(timezone.now())
    # Where the channel says so (Imshop), the address defaults to the recipient's external_id.
    default_is_external_id = provider_class(campaign.channel).external_id_is_default_address
    fallback = "r.external_id" if default_is_external_id else "NULL"
    no_address = f"No {Channel(campaign.channel).label} address."
    if recipient_ids:
        members, member_params = ", ".join(["%s"] * len(recipient_ids)), list(recipient_ids)
    else:
        members = (
            f"SELECT m.recipient_id FROM {member} m "  # noqa: S608 - quoted table names
            f"JOIN {campaign_audiences} ca ON ca.audience_id = m.audience_id "
            "WHERE ca.campaign_id = %s AND m.recipient_id BETWEEN %s AND %s"
        )
        member_params = [campaign.pk, first_id, last_id]
    # ORDER BY: deliveries get ids in recipient order. Senders claim in id order and the send
    # plan counts requests per batch of recipients in that order; without it PostgreSQL's hash
    # join inserted them in whatever order the join produced.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {delivery} (campaign_id, recipient_id, address, status, error, attempts,
                                    created_at, updated_at)
            SELECT %s, r.id, COALESCE(a.value, {fallback}, ''),
                   CASE WHEN r.opted_out_at IS NOT NULL THEN 'skipped'
                        WHEN COALESCE(a.value, {fallback}) IS NULL THEN 'skipped'
                        ELSE 'pending' END,
                   CASE WHEN r.opted_out_at IS NOT NULL THEN %s
                        WHEN COALESCE(a.value, {fallback}) IS NULL THEN %s
                        ELSE '' END,
                   0, %s, %s
            FROM {recipient} r
            LEFT JOIN {address} a ON a.recipient_id = r.id AND a.channel = %s
            WHERE r.id BETWEEN %s AND %s AND r.id IN ({members})
            ORDER BY r.id
            ON CONFLICT (campaign_id, recipient_id) DO NOTHING
            """,  # noqa: S608 - table names are quoted model tables; values are parameters
            [
                campaign.pk,
                OPTED_OUT,
                no_address,
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


OPTED_OUT = "The recipient opted out."
