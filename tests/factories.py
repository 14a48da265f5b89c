"""Small builders for test data: real rows in the test database, with sensible defaults."""

import itertools
from datetime import datetime, time

from notifications.campaigns.windows import ALL_DAYS
from notifications.models import (
    Address,
    Audience,
    AudienceMember,
    Campaign,
    Delivery,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
)

_sequence = itertools.count(1)

# A campaign's send window of 10:00-21:00 in each recipient's time, every day: `make_campaign(
# ..., **DAYTIME_WINDOW)`.
DAYTIME_WINDOW = {
    "window_on": True,
    "window_start": time(10),
    "window_end": time(21),
    "window_days": ALL_DAYS,
}


def make_recipient(*, addresses: dict[str, str] | None = None, **fields) -> Recipient:
    number = next(_sequence)
    fields.setdefault("external_id", f"r-{number}")
    recipient = Recipient.objects.create(**fields)
    RecipientAttribute.objects.bulk_create(
        [RecipientAttribute(name=name) for name in recipient.attributes], ignore_conflicts=True
    )
    for channel, value in (addresses or {}).items():
        Address.objects.create(recipient=recipient, channel=channel, value=value)
    return recipient


def make_audience(*recipients: Recipient, name: str = "") -> Audience:
    audience = Audience.objects.create(
        name=name or f"audience-{next(_sequence)}", size=len(set(recipients))
    )
    AudienceMember.objects.bulk_create(
        [AudienceMember(audience=audience, recipient=recipient) for recipient in recipients]
    )
    return audience


def make_template(**fields) -> MessageTemplate:
    fields.setdefault("name", f"template-{next(_sequence)}")
    fields.setdefault("title", "Hello")
    fields.setdefault("body", "Hi {{ first_name | default: 'there' }}")
    return MessageTemplate.objects.create(**fields)


def make_campaign(*audiences: Audience, **fields) -> Campaign:
    fields.setdefault("name", f"campaign-{next(_sequence)}")
    fields.setdefault("channel", "imshop")
    if "template" not in fields:
        fields["template"] = make_template()
    campaign = Campaign.objects.create(**fields)
    campaign.audiences.set(audiences)
    return campaign


def make_sent(campaign: Campaign, *moments: datetime) -> list[Delivery]:
    """Messages of `campaign` that went at each of `moments`, each to a new person: a send is
    its delivery's `sent_at` (no event repeats it). The counters are left to the caller."""
    return [
        Delivery.objects.create(
            campaign=campaign, recipient=make_recipient(), status="sent", sent_at=moment
        )
        for moment in moments
    ]
