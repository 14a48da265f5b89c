"""The recipients' admin: recipients with their addresses, addresses alone, and the filters a
campaign's send plan links to.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseFormSet
from django.http import HttpRequest
from django.utils.html import format_html_join

from notifications.recipients.services import (
    address_delete,
    address_save,
    recipient_delete,
    recipient_save,
)

from ..models import (
    Address,
    Delivery,
    DeliveryEvent,
    Recipient,
)
from .base import (
    ShownValuesMixin,
    ThroughServicesAdmin,
    admin_link,
    changed_values,
    changelist_link,
    history_table,
)
from .filters import CampaignAudienceFilter, ReachFilter
from .forms import AddressForm, RecipientForm


class AddressInline(ShownValuesMixin, admin.TabularInline):
    """A recipient's addresses; RecipientAdmin saves and deletes them through the services."""

    model = Address
    form = AddressForm
    extra = 0


@admin.register(Recipient)
class RecipientAdmin(ThroughServicesAdmin):
    """Recipients with their addresses, audiences and newest history."""

    form = RecipientForm
    list_display = ["external_id", "phone", "first_name", "last_name", "opted_out_at", "created_at"]
    search_fields = ["=external_id", "=phone", "last_name", "=addresses__value"]
    list_filter = [
        ("opted_out_at", admin.EmptyFieldListFilter),
        "audiences",
        "addresses__channel",
        CampaignAudienceFilter,
        ReachFilter,
    ]
    readonly_fields = [
        "audience_list",
        "recent_deliveries",
        "recent_events",
        "created_at",
        "updated_at",
    ]
    inlines = [AddressInline]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["external_id", "phone", "first_name", "last_name", "opted_out_at"]}),
        ("Template variables", {"fields": ["attributes"]}),
        (
            "Audiences and history",
            {"fields": ["audience_list", "recent_deliveries", "recent_events"]},
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).distinct()

    def save_model(self, request: HttpRequest, obj: Recipient, form, change: bool) -> None:
        recipient_save(recipient=obj, data=changed_values(form, change))

    def delete_through_service(self, obj: Recipient) -> None:
        recipient_delete(recipient=obj)

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseFormSet, change: bool
    ) -> None:
        # The address inline is the only one; its rows go through the address services, in
        # the order Django's own save uses, so a channel's address can be swapped in one save.
        formset.save(commit=False)
        for address in formset.deleted_objects:
            address_delete(address=address)
        for address, changed in formset.changed_objects:
            address_save(address=address, data={name: getattr(address, name) for name in changed})
        for address in formset.new_objects:
            address_save(address=address, data={})

    @admin.display(description="Audiences")
    def audience_list(self, obj: Recipient) -> str:
        audiences = list(obj.audiences.all()) if obj.pk else []
        if not audiences:
            return "—"
        return format_html_join(", ", "{}", ((admin_link(a),) for a in audiences))

    @admin.display(description="Deliveries (newest first)")
    def recent_deliveries(self, obj: Recipient) -> str:
        if not obj.pk:
            return "—"
        rows = obj.deliveries.select_related("campaign").order_by("-id")
        return history_table(
            rows,
            [
                ("Delivery", lambda d: admin_link(d, f"#{d.pk}")),
                ("Campaign", lambda d: admin_link(d.campaign)),
                ("Status", lambda d: d.get_status_display()),
                ("Updated", lambda d: d.updated_at),
                ("Error", lambda d: d.error or ""),
            ],
            changelist_link(
                Delivery, "All deliveries of this recipient", recipient__id__exact=obj.pk
            ),
        )

    @admin.display(description="Events (newest first)")
    def recent_events(self, obj: Recipient) -> str:
        if not obj.pk:
            return "—"
        rows = obj.events.select_related("campaign").order_by("-id")
        return history_table(
            rows,
            [
                ("Event", lambda e: e.type),
                ("When", lambda e: e.occurred_at),
                ("Campaign", lambda e: admin_link(e.campaign)),
                ("Detail", lambda e: e.detail),
            ],
            changelist_link(
                DeliveryEvent, "All events of this recipient", recipient__id__exact=obj.pk
            ),
        )


@admin.register(Address)
class AddressAdmin(ThroughServicesAdmin):
    """Addresses one by one, searchable by value or recipient."""

    form = AddressForm
    list_display = ["value", "channel", "recipient", "created_at"]
    list_filter = ["channel"]
    search_fields = ["=value", "=recipient__external_id"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient"]

    def get_fields(self, request: HttpRequest, obj: Address | None = None) -> list[str]:
        return ["recipient", "channel", "value"]

    def save_model(self, request: HttpRequest, obj: Address, form, change: bool) -> None:
        address_save(address=obj, data=changed_values(form, change))

    def delete_through_service(self, obj: Address) -> None:
        address_delete(address=obj)
