"""A finished demo campaign's past, written as the send loop would have left it.

A campaign's history cannot be made by sending, so `history_write` writes it directly, in this
one place: the content version dispatch would have frozen, one delivery per person with its
outcome, their events and the Sendios SMS callbacks, and the counters rebuilt from those rows
(`counters_rebuild`), so every number on the desk equals the rows its link opens.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifications.audiences.query import audience_q
from notifications.campaigns.versions import content_version_add
from notifications.content.checks import render_for_channel
from notifications.content.rendering import compile_template, recipient_context, template_fields
from notifications.models import Campaign, Channel, Delivery, DeliveryEvent, Recipient
from notifications.reasons import reason_encode
from notifications.sending.counters import counters_rebuild


@dataclass(frozen=True)
class History:
    """How a finished campaign went: its channel and template, when it finished, and the share
    of its people each outcome had; `sms` adds Sendios callbacks to the sent."""

    name: str
    channel: str
    template: str
    days_ago: float
    failed: float
    unknown: float = 0.0
    cancelled: float = 0.0
    sms: bool = False


FAILURES = {
    Channel.IMSHOP: "The app is not installed on this device any more.",
    Channel.LEADCONVERTER: "The subscriber has blocked messages.",
    Channel.YANDEX_MARKET: "The chat is closed.",
    Channel.BITRIX24: "The user is not in the portal.",
}


def history_write(
    *, campaign: Campaign, history: History, now: datetime, rng: random.Random, sms_base: int
) -> tuple[int, int]:
    """Write a draft's past as if it had been sent: its content version, one delivery per
    person with its outcome, their events and SMS callbacks, the counters from the rows.
    Returns the deliveries and events made."""
    finished = now - timedelta(days=history.days_ago)
    started = finished - timedelta(minutes=40)
    template = campaign.template
    content_version_add(campaign, template_fields(template), template=template)
    campaign.status = Campaign.Status.CANCELLED if history.cancelled else Campaign.Status.COMPLETED
    campaign.dispatched_at = campaign.started_at = campaign.materialised_at = started
    campaign.finished_at = finished
    campaign.save()
    compiled = compile_template(campaign.content)
    people = (
        Recipient.objects.filter(audience_q(campaign.audiences.get()))
        .prefetch_related("addresses")
        .order_by("pk")
    )
    no_address = reason_encode("no_address", channel=history.channel)
    # As the providers' client stores a read timeout (notifications/providers/http.py).
    no_answer = reason_encode(
        "read_timeout", host=str(Channel(history.channel).label), seconds="30"
    )
    deliveries = []
    for person in people:
        addresses = {a.channel: a.value for a in person.addresses.all()}
        address = addresses.get(history.channel, "")
        at = started + timedelta(seconds=rng.uniform(0, 40 * 60))
        roll = rng.random()
        if not address:
            status, error = Delivery.Status.SKIPPED, no_address
        elif roll < history.cancelled:
            status, error = Delivery.Status.CANCELLED, ""
        elif roll < history.cancelled + history.failed:
            status, error = Delivery.Status.FAILED, FAILURES[history.channel]
        elif roll < history.cancelled + history.failed + history.unknown:
            status, error = Delivery.Status.UNKNOWN, no_answer
        else:
            status, error = Delivery.Status.SENT, ""
        tried = status in (Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.UNKNOWN)
        content = render_for_channel(compiled, history.channel, recipient_context(person))
        deliveries.append(
            Delivery(
                campaign=campaign,
                recipient=person,
                address=address,
                status=status,
                error=error,
                attempts=1 if tried else 0,
                content=content.as_dict() if tried else None,
                content_version=campaign.content_version if tried else None,
                provider_response={"ok": True} if status == Delivery.Status.SENT else None,
                sent_at=at if status == Delivery.Status.SENT else None,
                created_at=started,
                updated_at=at,
            )
        )
    Delivery.objects.bulk_create(deliveries)
    events = [
        DeliveryEvent(
            type=delivery.status,
            occurred_at=delivery.updated_at,
            campaign=campaign,
            delivery=delivery,
            recipient=delivery.recipient,
            detail=delivery.error,
        )
        for delivery in deliveries
        # As the send path: a message that went has its time on the row, not an event.
        if delivery.status != Delivery.Status.SENT
    ]
    if history.sms:
        events += _sms_callbacks(campaign, deliveries, rng, sms_base)
    DeliveryEvent.objects.bulk_create(events)
    counters_rebuild(campaign_id=campaign.pk)
    return len(deliveries), len(events)


def _sms_callbacks(
    campaign: Campaign, deliveries: list[Delivery], rng: random.Random, sms_base: int
) -> list[DeliveryEvent]:
    """Sendios callbacks for the sent: each SMS sent, a few lost, some clicked (a few twice)."""
    events = []
    for number, delivery in enumerate(deliveries):
        if delivery.status != Delivery.Status.SENT:
            continue
        sms_id = sms_base + number + 1
        at = delivery.sent_at + timedelta(seconds=rng.uniform(5, 60))
        kinds = [DeliveryEvent.Type.SMS_SENT]
        roll = rng.random()
        if roll < 0.08:
            kinds.append(DeliveryEvent.Type.SMS_LOST)
        elif roll < 0.35:
            kinds += [DeliveryEvent.Type.SMS_CLICK] * (2 if roll < 0.12 else 1)
        for step, kind in enumerate(kinds):
            moment = at + timedelta(minutes=step * rng.uniform(1, 90))
            link = "https://example.com/orders" if kind == DeliveryEvent.Type.SMS_CLICK else ""
            identity = f"{kind}|{sms_id}|{moment.timestamp()}|{link}"
            events.append(
                DeliveryEvent(
                    type=kind,
                    occurred_at=moment,
                    campaign=campaign,
                    delivery=delivery,
                    recipient=delivery.recipient,
                    sms_id=sms_id,
                    link=link,
                    sendios_user_id=delivery.recipient.external_id,
                    sendios_project_id=campaign.sendios_project_id,
                    sendios_template_id=campaign.sendios_template_id,
                    dedup_key=hashlib.sha256(identity.encode()).hexdigest(),
                )
            )
    return events
