"""The list filters a campaign's numbers link to, so that each number opens exactly its rows:
on recipients, who is in its audiences and whom it reaches or skips (by the rules of
materialisation, exclusions first); on deliveries, where the unfinished ones stand; on events,
each SMS once by what became of it, and each person once who clicked a link."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from django.contrib import admin
from django.db.models import Min, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.audiences.query import audiences_q
from notifications.campaigns.capped import CAPPED_DEFERRED, CAPPED_SKIPPED
from notifications.campaigns.plan import campaign_recipients_left
from notifications.campaigns.quiet_hours import recipients_outside_window
from notifications.campaigns.report import NO_LINK
from notifications.campaigns.sms import SMS_EVENT_TYPES
from notifications.models import Campaign, Delivery, DeliveryEvent
from notifications.recipients.selectors import Reach, recipients_by_reach

if TYPE_CHECKING:
    from django.contrib.admin.views.main import ChangeList


FACET_COUNT = re.compile(r" \(\d+\)$")


def relabelled(choice: dict, parameter: str, label_of: Callable[[str], str]) -> dict:
    """A field filter's choice shown by the label of the value it filters on, keeping the facet
    count Django appends ("sent (12)" becomes "Отправлено (12)"); "All" stays as it is."""
    value = parse_qs(urlsplit(choice["query_string"]).query).get(parameter)
    if not value:
        return choice
    count = FACET_COUNT.search(str(choice["display"]))
    return {**choice, "display": f"{label_of(value[-1])}{count.group() if count else ''}"}


def event_type_label(event_type: str) -> str:
    """'SMS click' for `sms_click`; a callback of a kind we don't know keeps its own name."""
    try:
        return DeliveryEvent.Type(event_type).label
    except ValueError:
        return event_type


class EventTypeFilter(admin.AllValuesFieldListFilter):
    """The event types present, each by its name in the reader's language: the values (and the
    `type__exact` the desk's numbers link with) stay the codes."""

    def choices(self, changelist: ChangeList) -> Iterator[dict]:
        for choice in super().choices(changelist):
            yield relabelled(choice, self.lookup_kwarg, event_type_label)


class CampaignLinkFilter(admin.EmptyFieldListFilter):
    """Events linked to a campaign or not (an SMS callback waits unlinked until its delivery is
    known), said so rather than as the field being empty."""

    WORDS = {"1": _("Not linked to a campaign"), "0": _("Linked to a campaign")}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("campaign link")

    def choices(self, changelist: ChangeList) -> Iterator[dict]:
        for choice in super().choices(changelist):
            yield relabelled(choice, self.lookup_kwarg, lambda value: str(self.WORDS[value]))


class CampaignAudienceFilter(admin.SimpleListFilter):
    """Recipients in a campaign's audiences: where the numbers of a send plan link to."""

    title = _("campaign audience")
    parameter_name = "campaign"
    RECENT = 10

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        recent = Campaign.objects.filter(kind=Campaign.Kind.CAMPAIGN).order_by("-id")
        return [(str(pk), name) for pk, name in recent.values_list("pk", "name")[: self.RECENT]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        campaign = Campaign.objects.filter(pk=int(self.value())).first()
        if campaign is None:
            return queryset.none()
        return queryset.filter(audiences_q(campaign.audiences.all()))


class ReachFilter(admin.SimpleListFilter):
    """Whom a campaign reaches or skips, by the rules of materialisation."""

    title = _("reach in that campaign")
    parameter_name = "reach"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        if not request.GET.get("campaign"):
            return []
        return [
            (Reach.REACHABLE, _("Reachable")),
            (Reach.EXCLUDED, _("Skipped: excluded")),
            (Reach.OPTED_OUT, _("Skipped: opted out")),
            (Reach.NO_ADDRESS, _("Skipped: no address")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        campaign_id = request.GET.get("campaign", "")
        if not self.value() or not campaign_id.isdigit():
            return queryset
        campaign = Campaign.objects.filter(pk=int(campaign_id)).first()
        if campaign is None or self.value() not in set(Reach):
            return queryset.none()
        return recipients_by_reach(
            queryset,
            campaign.channel,
            Reach(self.value()),
            excluded=campaign.excluded_audiences.all(),
        )


class DeliveryStageFilter(admin.SimpleListFilter):
    """Deliveries not finished yet, by where they stand: waiting for a turn (pending, or claimed
    by a worker whose request has not begun) or being sent (the request has begun); and those
    quiet hours or a frequency cap hold back (a cap's skipped ones too, finished as they are)."""

    title = _("stage")
    parameter_name = "stage"
    STAGES = {
        "left": (
            _("Left to send"),
            Q(status__in=(Delivery.Status.PENDING, Delivery.Status.SENDING)),
        ),
        "waiting": (
            _("Waiting"),
            Q(status=Delivery.Status.PENDING)
            | Q(status=Delivery.Status.SENDING, request_started_at__isnull=True),
        ),
        "in_flight": (
            _("Being sent"),
            Q(status=Delivery.Status.SENDING, request_started_at__isnull=False),
        ),
    }

    # Left to send, with the recipient outside the campaign's send window now: the rows the
    # desk counts as waiting for quiet hours to end. Needs the list filtered to one campaign.
    QUIET_HOURS = "quiet_hours"
    # Held back by a frequency cap, as their rows say: the rows the desk and the stats count.
    CAPPED = {
        "capped": (_("Deferred by frequency caps"), CAPPED_DEFERRED),
        "capped_skipped": (_("Skipped by frequency caps"), CAPPED_SKIPPED),
    }

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        stages = [(value, label) for value, (label, _) in self.STAGES.items()]
        capped = [(value, label) for value, (label, _) in self.CAPPED.items()]
        return [*stages, (self.QUIET_HOURS, _("Waiting for quiet hours to end")), *capped]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == self.QUIET_HOURS:
            return queryset.filter(self._quiet_hours(request))
        if self.value() in self.CAPPED:
            return queryset.filter(self.CAPPED[self.value()][1])
        if self.value() not in self.STAGES:
            return queryset
        return queryset.filter(self.STAGES[self.value()][1])

    def _quiet_hours(self, request: HttpRequest) -> Q:
        campaign_id = request.GET.get("campaign__id__exact", "")
        campaign = (
            Campaign.objects.filter(pk=campaign_id).first() if campaign_id.isdigit() else None
        )
        if campaign is None:
            return Q(pk__in=[])
        waiting = recipients_outside_window(
            campaign=campaign, recipients=campaign_recipients_left(campaign)
        )
        return self.STAGES["left"][1] & Q(recipient__timezone__in=waiting.zones)


class SmsOutcomeFilter(admin.SimpleListFilter):
    """One event per SMS (its first), by what became of the SMS, as the SMS funnel counts them
    (`campaigns.sms.campaign_sms_stats`): sent (any event proves it), lost (an `sms_lost`, in
    whatever order the events came), delivered (sent and never lost), clicked.

    Counted within the rows the list's other filters leave (the campaign's events), so put it
    after them in `list_filter`.
    """

    title = _("SMS, each once")
    parameter_name = "sms"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [
            ("sent", pgettext_lazy("SMS outcome", "Sent")),
            ("lost", pgettext_lazy("SMS outcome", "Lost")),
            ("delivered", pgettext_lazy("SMS outcome", "Delivered")),
            ("clicked", pgettext_lazy("SMS outcome", "Clicked")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in ("sent", "lost", "delivered", "clicked"):
            return queryset
        sms = queryset.filter(type__in=SMS_EVENT_TYPES, sms_id__isnull=False).order_by()
        if value == "lost":
            sms = sms.filter(type=DeliveryEvent.Type.SMS_LOST)
        elif value == "clicked":
            sms = sms.filter(type=DeliveryEvent.Type.SMS_CLICK)
        elif value == "delivered":
            lost = queryset.filter(type=DeliveryEvent.Type.SMS_LOST, sms_id__isnull=False)
            sms = sms.exclude(sms_id__in=lost.order_by().values("sms_id"))
        first = sms.values("sms_id").annotate(first=Min("id")).values("first")
        return queryset.filter(pk__in=first)


class LinkClickersFilter(admin.SimpleListFilter):
    """One click per person who clicked a link (their first), as clicks by link count clickers
    (`campaigns.report.campaign_link_clicks`): by recipient, or by SMS where the recipient is
    not known. The value is the link as stored; "" is a click that named no link.

    Counted within the rows the list's other filters leave (the campaign's events), so put it
    after them in `list_filter`.
    """

    title = _("people who clicked a link")
    parameter_name = "clickers_of"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        # Links are many and long: offered only as the one a page linked to.
        if self.value() is None:
            return []
        label = gettext("Each person once: %(link)s") % {"link": self.value() or NO_LINK}
        return [(self.value(), label)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        clicks = queryset.filter(type=DeliveryEvent.Type.SMS_CLICK, link=self.value()).order_by()
        by_person = (
            clicks.filter(recipient__isnull=False)
            .values("recipient_id")
            .annotate(first=Min("id"))
            .values("first")
        )
        by_sms = (
            clicks.filter(recipient__isnull=True, sms_id__isnull=False)
            .values("sms_id")
            .annotate(first=Min("id"))
            .values("first")
        )
        return queryset.filter(Q(pk__in=by_person) | Q(pk__in=by_sms))
