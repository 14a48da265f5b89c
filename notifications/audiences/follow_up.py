"""Follow-up audiences: a static list of who a campaign failed, skipped or reached.

"The 54 who failed" is one statement: the campaign's deliveries (or SMS events) of that outcome
copied into a new audience's members.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, TextChoices
from django.utils.translation import gettext, pgettext_lazy

from notifications.audiences.services import audience_members_add, audience_save
from notifications.models import Audience, Campaign, Delivery, DeliveryEvent, Recipient


class Outcome(TextChoices):
    """Who of a campaign's recipients a follow-up audience holds."""

    FAILED = "failed", pgettext_lazy("follow-up outcome", "Failed")
    SKIPPED = "skipped", pgettext_lazy("follow-up outcome", "Skipped")
    UNKNOWN = "unknown", pgettext_lazy("follow-up outcome", "Unknown (no answer)")
    SENT = "sent", pgettext_lazy("follow-up outcome", "Sent")
    SENT_NOT_CLICKED = (
        "sent_not_clicked",
        pgettext_lazy("follow-up outcome", "Sent but did not click"),
    )
    CLICKED = "clicked", pgettext_lazy("follow-up outcome", "Clicked an SMS link")


def follow_up_people(*, campaign: Campaign, outcome: str) -> QuerySet[Recipient]:
    """The recipients of `campaign` with `outcome` (one of `Outcome`)."""
    deliveries = Delivery.objects.filter(campaign=campaign.pk)
    clicks = DeliveryEvent.objects.filter(
        campaign=campaign.pk, recipient=OuterRef("pk"), type=DeliveryEvent.Type.SMS_CLICK
    )
    if outcome in (Outcome.FAILED, Outcome.SKIPPED, Outcome.UNKNOWN, Outcome.SENT):
        return Recipient.objects.filter(
            pk__in=deliveries.filter(status=outcome).values("recipient_id")
        )
    if outcome == Outcome.SENT_NOT_CLICKED:
        sent = deliveries.filter(status=Delivery.Status.SENT).values("recipient_id")
        return Recipient.objects.filter(pk__in=sent).exclude(Exists(clicks))
    if outcome == Outcome.CLICKED:
        return Recipient.objects.filter(Exists(clicks))
    raise ValueError(f"{outcome!r} is not a follow-up outcome.")


def follow_up_name(*, campaign: Campaign, outcome: str) -> str:
    """The name a follow-up audience is offered under."""
    return f"{campaign.name}: {Outcome(outcome).label.lower()}"


def audience_follow_up_create(*, campaign: Campaign, outcome: str, name: str) -> Audience:
    """A new static audience `name` holding the recipients of `campaign` with `outcome`."""
    with transaction.atomic():
        audience = audience_save(
            audience=None,
            data={
                "name": name,
                "description": gettext("%(outcome)s in campaign '%(name)s' (#%(id)s).")
                % {"outcome": Outcome(outcome).label, "name": campaign.name, "id": campaign.pk},
            },
        )
        audience_members_add(
            audience=audience, recipients=follow_up_people(campaign=campaign, outcome=outcome)
        )
        audience.refresh_from_db(fields=["size"])
    return audience
