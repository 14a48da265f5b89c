"""Deliveries and their events: history the system writes and staff only read.

Their pages speak as staff do: what was sent to whom, when, and the provider's answer. The
fields the send loop keeps for itself (a worker's claim and lease, when a request began, the
fingerprint that stores a callback once) sit in a collapsed "Technical details" section that
says what they are for.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_field
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.campaigns.sms import sms_events_link_pending
from notifications.exports.columns import delivery_export, event_export
from notifications.formats import number_text

from ..models import Campaign, Delivery, DeliveryEvent
from .base import ReadOnlyAdmin, change_link, reason_field
from .content import VersionFilter
from .exports import ExportMixin
from .filters import (
    CampaignLinkFilter,
    DeliveryStageFilter,
    EventTypeFilter,
    LinkClickersFilter,
    SmsOutcomeFilter,
    event_type_label,
)

TECHNICAL = _("Technical details")
EVENT_DETAIL = reason_field(DeliveryEvent, "detail")


def labelled(field: str, label: str) -> Callable[[Model], object]:
    """A read-only field shown under `label`, formatted as Django shows the field itself.

    Django labels a read-only field with the model's name for it; this keeps the model's name
    for engineers and lets the page say it as staff do. Named after the field, so the model's
    help text still shows under it.
    """

    def value(obj: Model) -> object:
        return display_for_field(getattr(obj, field), obj._meta.get_field(field), "—")

    value.__name__ = field
    value.short_description = label  # type: ignore[attr-defined]
    return value


def relabelled(fieldsets: list, labels: dict[str, str]) -> list:
    """`fieldsets` with each field named in `labels` shown under that label (`labelled`)."""
    return [
        (
            name,
            {
                **options,
                "fields": [
                    labelled(field, labels[field]) if field in labels else field
                    for field in options["fields"]
                ],
            },
        )
        for name, options in fieldsets
    ]


class HistoryAdmin(ReadOnlyAdmin):
    """A read-only page whose every field is one of its fieldsets'."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list:
        return [field for _, options in self.fieldsets for field in options["fields"]]


class DeliveryEventInline(admin.TabularInline):
    """A delivery's events, oldest first, read-only."""

    model = DeliveryEvent
    fields = ["type_label", "occurred_at", EVENT_DETAIL]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["occurred_at", "id"]
    verbose_name = _("event")
    verbose_name_plural = _("What happened")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("Event"))
    def type_label(self, obj: DeliveryEvent) -> str:
        return event_type_label(obj.type)


@admin.register(Delivery)
class DeliveryAdmin(ExportMixin, HistoryAdmin):
    """Deliveries, one per recipient of a campaign, with their events; the list exports."""

    export = delivery_export
    export_subjects = (("campaign__id__exact", Campaign),)

    list_display = [
        "id",
        "campaign",
        "recipient",
        "address",
        "status",
        "attempts",
        "sent_at",
        "updated_at",
    ]
    list_filter = ["status", "campaign__channel", "campaign", DeliveryStageFilter, VersionFilter]
    search_fields = ["=recipient__external_id", "=address"]
    list_select_related = ["campaign", "recipient"]
    show_full_result_count = False
    inlines = [DeliveryEventInline]
    fieldsets = relabelled(
        [
            (
                None,
                {
                    "fields": [
                        "campaign",
                        "recipient",
                        "address",
                        "status",
                        reason_field(Delivery, "error"),
                        "sent_at",
                        "attempts",
                        "next_attempt_at",
                    ]
                },
            ),
            (_("The message"), {"fields": ["content", "content_version", "provider_response"]}),
            (
                TECHNICAL,
                {
                    "classes": ["collapse"],
                    "description": _(
                        "What the sending workers keep for themselves while a message is on its "
                        "way: which worker holds it and until when, and when its request to the "
                        "provider began. Useful only when reporting a problem to the developers."
                    ),
                    "fields": [
                        "id",
                        "claim_token",
                        "lease_expires_at",
                        "request_started_at",
                        "created_at",
                        "updated_at",
                    ],
                },
            ),
        ],
        {
            "address": _("Sent to"),
            "attempts": _("Tries"),
            "next_attempt_at": _("Next try at"),
            "content": _("Message as sent"),
            "content_version": _("Message version"),
            "provider_response": _("Provider's answer"),
            "id": _("Delivery number"),
            "claim_token": _("Worker holding it"),
            "lease_expires_at": _("Held by that worker until"),
            "request_started_at": _("Request to the provider began"),
            "created_at": _("Prepared at"),
            "updated_at": _("Last changed"),
        },
    )


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ExportMixin, HistoryAdmin):
    """Events of deliveries and SMS callbacks, and the action that links waiting callbacks;
    the list exports."""

    export = event_export
    export_subjects = (("campaign__id__exact", Campaign),)

    list_display = [
        "id",
        "type_label",
        "occurred_at",
        "campaign",
        "recipient",
        "delivery_link",
        EVENT_DETAIL,
    ]
    list_filter = [
        ("type", EventTypeFilter),
        ("campaign", CampaignLinkFilter),
        "campaign",
        SmsOutcomeFilter,
        LinkClickersFilter,
    ]
    search_fields = ["=recipient__external_id"]
    list_select_related = ["campaign", "recipient"]
    show_full_result_count = False
    fieldsets = relabelled(
        [
            (
                None,
                {
                    "fields": [
                        "type_label",
                        "occurred_at",
                        "campaign",
                        "recipient",
                        "delivery_link",
                        EVENT_DETAIL,
                        "link",
                    ]
                },
            ),
            (
                _("From the SMS service (Sendios)"),
                {
                    "classes": ["collapse"],
                    "description": _(
                        "For SMS callbacks: how the SMS service names the message, the customer "
                        "and the campaign; this event was matched by them."
                    ),
                    "fields": [
                        "sms_id",
                        "sendios_user_id",
                        "sendios_project_id",
                        "sendios_template_id",
                    ],
                },
            ),
            (
                TECHNICAL,
                {
                    "classes": ["collapse"],
                    "description": _(
                        "What the system stored with the event: its raw data, and a fingerprint "
                        "that makes a callback the SMS service sends twice count once."
                    ),
                    "fields": ["id", "data", "dedup_key", "created_at"],
                },
            ),
        ],
        {
            "occurred_at": _("When"),
            "link": _("Link followed"),
            "sms_id": _("SMS number"),
            "sendios_user_id": _("Customer id"),
            "sendios_project_id": _("Project"),
            "sendios_template_id": _("Template"),
            "id": _("Event number"),
            "data": _("Raw data"),
            "dedup_key": _("Fingerprint"),
            "created_at": _("Stored at"),
        },
    )

    actions = ["link_unlinked_sms_events"]

    @admin.action(description=_("Link unlinked SMS events to recipients and campaigns"))
    def link_unlinked_sms_events(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Links every waiting callback, whatever was selected: the work is the same query.
        links = sms_events_link_pending()
        text = ngettext("%(count)s link made.", "%(count)s links made.", links)
        self.message_user(request, text % {"count": number_text(links)}, messages.SUCCESS)

    @admin.display(description=_("Event"), ordering="type")
    def type_label(self, obj: DeliveryEvent) -> str:
        return event_type_label(obj.type)

    @admin.display(description=_("Delivery"))
    def delivery_link(self, obj: DeliveryEvent) -> str:
        return change_link("delivery", obj.delivery_id, f"#{obj.delivery_id}")
