"""Deliveries and their events: history the system writes and staff only read."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.campaigns.sms import sms_events_link_pending

from ..models import Delivery, DeliveryEvent
from .base import ReadOnlyAdmin, change_link
from .filters import DeliveryStageFilter, SmsOutcomeFilter


class DeliveryEventInline(admin.TabularInline):
    """A delivery's events, oldest first, read-only."""

    model = DeliveryEvent
    fields = ["type", "occurred_at", "detail", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["occurred_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Deliveries, one per recipient of a campaign, with their events."""

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
    list_filter = ["status", "campaign__channel", "campaign", DeliveryStageFilter]
    search_fields = ["=recipient__external_id", "=address"]
    list_select_related = ["campaign", "recipient"]
    show_full_result_count = False
    inlines = [DeliveryEventInline]


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdmin):
    """Events of deliveries and SMS callbacks, and the action that links waiting callbacks."""

    list_display = ["id", "type", "occurred_at", "campaign", "recipient", "delivery_link", "detail"]
    list_filter = ["type", ("campaign", admin.EmptyFieldListFilter), "campaign", SmsOutcomeFilter]
    search_fields = ["=recipient__external_id"]
    list_select_related = ["campaign", "recipient"]
    show_full_result_count = False

    actions = ["link_unlinked_sms_events"]

    @admin.action(description="Link unlinked SMS events to recipients and campaigns")
    def link_unlinked_sms_events(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Links every waiting callback, whatever was selected: the work is the same query.
        links = sms_events_link_pending()
        self.message_user(request, f"{links:,} links made.", messages.SUCCESS)

    @admin.display(description="Delivery")
    def delivery_link(self, obj: DeliveryEvent) -> str:
        return change_link("delivery", obj.delivery_id, f"#{obj.delivery_id}")
