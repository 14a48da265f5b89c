"""Demo data: a fresh install filled so that every page has something to show.

`demo_fill` makes a few hundred recipients with Russian names, cities and typed attributes,
addresses on every channel, a static list and a segment, a template per channel, a draft, and
four finished campaigns with their deliveries, events and SMS callbacks.

Everything up to the drafts goes through the services staff use (the attribute registry,
`recipients_import`, `audience_save`, `message_template_save`, `campaign_save`). A finished
campaign's past cannot be made by sending, so `history_write` writes it directly, in one place:
the content version dispatch would have frozen, one delivery per person with the outcome the
send loop would have recorded, their events, and the counters rebuilt from those rows.

It fills an empty install only, once: with the demo there already, or with recipients or
campaigns of the install's own, it changes nothing (so `make run` may call it every time). All
of it is one transaction, so a failure leaves no half-made demo behind.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from notifications.audiences.query import audience_q
from notifications.audiences.services import audience_members_add, audience_save
from notifications.campaigns.services import campaign_save
from notifications.campaigns.versions import content_version_add
from notifications.content.checks import message_template_errors, render_for_channel
from notifications.content.rendering import compile_template, recipient_context, template_fields
from notifications.content.services import message_template_save
from notifications.errors import InvalidInput
from notifications.models import (
    Audience,
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
)
from notifications.recipients.attributes import recipient_attribute_save
from notifications.recipients.reading import RecipientRow
from notifications.recipients.upsert import recipients_import
from notifications.sending.counters import counters_rebuild

DEFAULT_RECIPIENTS = 300
MAX_RECIPIENTS = 5000
STATIC_LIST = "Loyalty club"
SEGMENT = "Moscow and St Petersburg, aged 25 to 45"

MEN = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Иван", "Михаил", "Никита"]
WOMEN = ["Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Екатерина", "Дарья"]
# (his, her) surname.
SURNAMES = [
    ("Иванов", "Иванова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Васильев", "Васильева"),
    ("Петров", "Петрова"),
    ("Соколов", "Соколова"),
    ("Волков", "Волкова"),
]
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара"]
ATTRIBUTES = [
    ("city", RecipientAttribute.Type.TEXT, "City"),
    ("age", RecipientAttribute.Type.NUMBER, "Age"),
    ("orders", RecipientAttribute.Type.NUMBER, "Orders"),
    ("birthday", RecipientAttribute.Type.DATE, "Birthday"),
    ("loyalty_member", RecipientAttribute.Type.BOOLEAN, "Loyalty club member"),
]
# The share of recipients with an address on each channel: some are skipped on every channel.
REACH = {
    Channel.IMSHOP: 0.9,
    Channel.LEADCONVERTER: 0.8,
    Channel.YANDEX_MARKET: 0.6,
    Channel.BITRIX24: 0.5,
}
TEMPLATES = [
    {
        "name": "Spring sale (Imshop push)",
        "title": "Весенняя распродажа",
        "body": "{{ first_name }}, скидки до 30 % в магазинах города {{ city }} до воскресенья.",
        "deeplink": "imshop://catalog/spring-sale",
    },
    {
        "name": "Order reminder (LeadConverter)",
        "body": "{{ first_name }}, ваш заказ ждёт вас в пункте выдачи. "
        "Подробнее: https://example.com/orders",
    },
    {
        "name": "Delivery survey (Yandex Market chat)",
        "body": "Здравствуйте, {{ first_name }}! Оцените, пожалуйста, доставку от 1 до 5.",
    },
    {
        "name": "Team news (Bitrix24)",
        "body": "{{ first_name }}, в пятницу общее собрание в 15:00.",
        "avatar_url": "https://example.com/vestnik-avatar.png",
    },
]


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


HISTORY = [
    History("Spring sale", Channel.IMSHOP, TEMPLATES[0]["name"], 2, failed=0.03),
    History(
        "Order reminders",
        Channel.LEADCONVERTER,
        TEMPLATES[1]["name"],
        1,
        failed=0.05,
        unknown=0.02,
        sms=True,
    ),
    History("Delivery survey", Channel.YANDEX_MARKET, TEMPLATES[2]["name"], 5, failed=0.1),
    History("Team news", Channel.BITRIX24, TEMPLATES[3]["name"], 3, failed=0.0, cancelled=0.4),
]
FAILURES = {
    Channel.IMSHOP: "The app is not installed on this device any more.",
    Channel.LEADCONVERTER: "The subscriber has blocked messages.",
    Channel.YANDEX_MARKET: "The chat is closed.",
    Channel.BITRIX24: "The user is not in the portal.",
}


@dataclass(frozen=True)
class DemoReport:
    """What `demo_fill` made; `made` is False when it left the install as it was, because the
    demo was there already or the install has data of its own (`own_data`)."""

    made: bool
    own_data: bool = False
    recipients: int = 0
    audiences: int = 0
    templates: int = 0
    campaigns: int = 0
    deliveries: int = 0
    events: int = 0


def demo_fill(*, recipients: int = DEFAULT_RECIPIENTS, seed: int = 2026) -> DemoReport:
    """Fill an empty database with the demo, once; InvalidInput for a size out of range."""
    if not 10 <= recipients <= MAX_RECIPIENTS:
        raise InvalidInput(
            f"The demo makes between 10 and {MAX_RECIPIENTS:,} recipients, not {recipients}.",
            field="recipients",
        )
    if Audience.objects.filter(name=STATIC_LIST).exists():
        return DemoReport(made=False)
    if Recipient.objects.exists() or Campaign.objects.exists():
        return DemoReport(made=False, own_data=True)
    rng = random.Random(seed)  # noqa: S311 (made-up people, the same on every run)
    with transaction.atomic():
        _attributes()
        rows = [_person(number, rng) for number in range(1, recipients + 1)]
        recipients_import(rows=rows)
        people = Recipient.objects.filter(external_id__in=[row.external_id for row in rows])
        club = audience_save(audience=None, data={"name": STATIC_LIST, "kind": "static"})
        members = people.filter(attributes__loyalty_member=True)
        audience_members_add(audience=club, recipients=members)
        segment = audience_save(
            audience=None,
            data={
                "name": SEGMENT,
                "kind": "segment",
                "description": "Two capitals, working age: the segment builder's example.",
                "rules": {
                    "match": "all",
                    "rules": [
                        {"field": "attributes.city", "op": "in", "value": CITIES[:2]},
                        {"field": "attributes.age", "op": "between", "value": [25, 45]},
                    ],
                },
            },
        )
        templates = {fields["name"]: _template(fields) for fields in TEMPLATES}
        campaign_save(
            campaign_id=None,
            data={
                "name": "Summer preview",
                "channel": Channel.IMSHOP,
                "template": templates[TEMPLATES[0]["name"]],
            },
            audiences=[segment],
        )
        now = timezone.now()
        deliveries = events = 0
        for number, history in enumerate(HISTORY):
            campaign = campaign_save(
                campaign_id=None,
                data={
                    "name": history.name,
                    "channel": history.channel,
                    "template": templates[history.template],
                    # Sendios ids tie the SMS callbacks to the campaign, as in production.
                    **(
                        {"sendios_project_id": 7, "sendios_template_id": 100 + number}
                        if history.sms
                        else {}
                    ),
                },
                audiences=[club if number % 2 else segment],
            )
            made = history_write(
                campaign=campaign, history=history, now=now, rng=rng, sms_base=number * 100_000
            )
            deliveries += made[0]
            events += made[1]
    return DemoReport(
        made=True,
        recipients=len(rows),
        audiences=2,
        templates=len(templates),
        campaigns=1 + len(HISTORY),
        deliveries=deliveries,
        events=events,
    )


def _attributes() -> None:
    known = set(RecipientAttribute.objects.values_list("name", flat=True))
    for name, kind, label in ATTRIBUTES:
        if name not in known:
            recipient_attribute_save(
                attribute=None, data={"name": name, "type": kind, "label": label}
            )


def _person(number: int, rng: random.Random) -> RecipientRow:
    woman = rng.random() < 0.5
    first = rng.choice(WOMEN if woman else MEN)
    last = rng.choice(SURNAMES)[1 if woman else 0]
    age = rng.randint(18, 70)
    born = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
    addresses = {
        Channel.IMSHOP: f"ims-{number:05d}",
        Channel.LEADCONVERTER: str(700_000 + number),
        Channel.YANDEX_MARKET: str(9_100_000 + number),
        Channel.BITRIX24: str(300 + number),
    }
    return RecipientRow(
        line=number,
        external_id=f"demo-{number:04d}",
        phone=f"+79{rng.randint(10, 99)}{number:07d}",
        first_name=first,
        last_name=last,
        addresses={
            channel: value for channel, value in addresses.items() if rng.random() < REACH[channel]
        },
        attributes={
            "city": rng.choice(CITIES),
            "age": str(age),
            "orders": str(rng.randint(0, 40)),
            "birthday": born.isoformat(),
            "loyalty_member": "yes" if rng.random() < 0.4 else "no",
        },
    )


def _template(fields: dict[str, str]) -> MessageTemplate:
    if errors := message_template_errors(fields, template=None):
        raise InvalidInput(f"The demo template {fields['name']!r} is refused: {errors}")
    return message_template_save(template=None, data=fields)


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
    no_address = f"No {Channel(history.channel).label} address."
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
            status, error = Delivery.Status.UNKNOWN, "No answer from the provider in time."
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


def demo_sentence(report: DemoReport) -> str:
    """One sentence of what `demo_fill` did."""
    if report.own_data:
        return "This install has recipients or campaigns of its own: the demo data was not added."
    if not report.made:
        return "The demo data is already here: nothing was changed."
    return (
        f"Made {report.recipients:,} recipients, {report.audiences} audiences, "
        f"{report.templates} templates and {report.campaigns} campaigns "
        f"({report.deliveries:,} deliveries, {report.events:,} events)."
    )
