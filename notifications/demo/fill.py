"""Demo data: a fresh install filled so that every page has something to show.

`demo_fill` makes a few hundred recipients with Russian names, cities and typed attributes,
addresses on every channel, a static list and a segment, a template per channel, a draft, and
four finished campaigns with their deliveries, events and SMS callbacks.

Everything up to the drafts goes through the services staff use (the attribute registry,
`recipients_import`, `audience_save`, `message_template_save`, `campaign_save`). A finished
campaign's past cannot be made by sending, so `history.history_write` writes it, in one place:
the content version dispatch would have frozen, one delivery per person with the outcome the
send loop would have recorded, their events, and the counters rebuilt from those rows.

It fills an empty install only, once: with the demo there already, or with recipients or
campaigns of the install's own, it changes nothing (so `make run` may call it every time). All
of it is one transaction, so a failure leaves no half-made demo behind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from notifications.audiences.services import audience_members_add, audience_save
from notifications.campaigns.services import campaign_save
from notifications.content.checks import message_template_errors
from notifications.content.services import message_template_save
from notifications.errors import InvalidInput
from notifications.models import (
    Audience,
    Campaign,
    Channel,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
)
from notifications.recipients.attributes import recipient_attribute_save
from notifications.recipients.reading import RecipientRow
from notifications.recipients.upsert import recipients_import

from .history import History, history_write

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
