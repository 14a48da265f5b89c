"""The recipients' admin: recipients with their addresses, typed attributes and audiences,
list actions that add them to a test list (and, from `audience_membership.py`, to a static
audience or out of one), and addresses alone.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.forms import BaseFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.audiences.query import audience_q
from notifications.audiences.services import recipient_audiences_set
from notifications.errors import InvalidInput
from notifications.exports.columns import recipient_export
from notifications.formats import number_text
from notifications.reasons import reason_text
from notifications.recipients.seeds import seed_recipients_add
from notifications.recipients.services import (
    address_delete,
    address_save,
    recipient_delete,
    recipient_save,
)

from ..models import (
    Address,
    Audience,
    Delivery,
    DeliveryEvent,
    Recipient,
    RecipientAttribute,
)
from .audience_membership import AudienceMembershipMixin
from .base import (
    ShownValuesMixin,
    ThroughServicesAdmin,
    admin_link,
    changed_values,
    changelist_link,
    history_table,
)
from .exports import ExportMixin
from .filters import CampaignAudienceFilter, ReachFilter
from .forms import ATTRIBUTE_FIELD_PREFIX, AddressForm, RecipientForm

# The recipient's own fields the form edits (its attributes and audiences come apart).
RECIPIENT_FIELDS = RecipientForm.Meta.fields


class AddressInline(ShownValuesMixin, admin.TabularInline):
    """A recipient's addresses; RecipientAdmin saves and deletes them through the services."""

    model = Address
    form = AddressForm
    extra = 0


class AudienceFilter(admin.SimpleListFilter):
    """Recipients in one audience, a segment by its rules as a static one by its members, so
    the list shows as many as the audience's size says.

    Its parameter is `audience`, not a path such as `audiences__id__exact`: since Django 5.2.20
    the admin refuses a lookup across a reverse relation unless a field filter on that path is
    declared, and this one is a SimpleListFilter.
    """

    title = _("audience")
    parameter_name = "audience"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [(str(pk), name) for pk, name in Audience.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        audience = Audience.objects.filter(pk=int(self.value())).first()
        if audience is None:
            return queryset.none()
        return queryset.filter(audience_q(audience))


@admin.register(Recipient)
class RecipientAdmin(AudienceMembershipMixin, ExportMixin, ThroughServicesAdmin):
    """Recipients with their addresses, typed attributes, audiences and newest history; list
    actions add the selected recipients, or all that match the filters and search, to a static
    audience or remove them from one; the list exports."""

    export = recipient_export
    export_subjects = (("audience", Audience),)

    form = RecipientForm
    list_display = ["external_id", "phone", "first_name", "last_name", "opted_out_at", "created_at"]
    search_fields = ["=external_id", "=phone", "first_name", "last_name", "=addresses__value"]
    list_filter = [
        ("opted_out_at", admin.EmptyFieldListFilter),
        AudienceFilter,
        "addresses__channel",
        CampaignAudienceFilter,
        ReachFilter,
    ]
    readonly_fields = [
        "segment_list",
        "recent_deliveries",
        "recent_events",
        "created_at",
        "updated_at",
    ]
    inlines = [AddressInline]
    show_full_result_count = False
    actions = [
        "add_to_audience",
        "remove_from_audience",
        "add_to_my_test_list",
        "add_to_shared_test_list",
        "delete_selected",
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Recipient | None = None) -> list:
        attributes = [
            ATTRIBUTE_FIELD_PREFIX + name
            for name in RecipientAttribute.objects.values_list("name", flat=True)
        ]
        return [
            (None, {"fields": RECIPIENT_FIELDS}),
            (
                _("Template variables"),
                {"fields": attributes, "description": self._attributes_description()},
            ),
            (
                _("Audiences and history"),
                {"fields": ["audiences", "segment_list", "recent_deliveries", "recent_events"]},
            ),
            (None, {"fields": ["created_at", "updated_at"]}),
        ]

    def _attributes_description(self) -> str:
        text = gettext("One field per attribute in the registry; an empty field means no value.")
        if not self.admin_site.is_registered(RecipientAttribute):
            return text
        url = reverse("admin:notifications_recipientattribute_add")
        return format_html('{} <a href="{}">{}</a>', text, url, gettext("Add an attribute"))

    def get_form(
        self, request: HttpRequest, obj: Recipient | None = None, change: bool = False, **kwargs
    ) -> type[RecipientForm]:
        # The form adds the attribute and audience fields itself; the model's are the rest.
        if kwargs.get("fields") is not None:
            kwargs["fields"] = [name for name in kwargs["fields"] if name in RECIPIENT_FIELDS]
        form = super().get_form(request, obj, change, **kwargs)
        form.may_change_audiences = self.has_change_audience_permission(request)
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).distinct()

    def save_model(self, request: HttpRequest, obj: Recipient, form, change: bool) -> None:
        values = changed_values(form, change)
        data = {name: values[name] for name in RECIPIENT_FIELDS if name in values}
        if "attributes" in form.cleaned_data:
            data["attributes"] = form.cleaned_data["attributes"]
        recipient_save(recipient=obj, data=data)
        if "audiences" in form.changed_data:
            recipient_audiences_set(recipient=obj, audiences=form.cleaned_data["audiences"])

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

    def has_add_seed_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.add_seedrecipient")

    @admin.action(description=_("Add to my test list"), permissions=["view"])
    def add_to_my_test_list(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._test_list_add(request, queryset, owner=request.user)

    @admin.action(description=_("Add to the shared test list"), permissions=["add_seed"])
    def add_to_shared_test_list(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._test_list_add(request, queryset, owner=None)

    def _test_list_add(self, request: HttpRequest, queryset: QuerySet, *, owner) -> None:
        try:
            added = seed_recipients_add(recipients=queryset, owner=owner)
        except InvalidInput as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        kept = queryset.count() - added
        numbers = {"added": number_text(added), "kept": number_text(kept)}
        if owner and kept:
            text = gettext("Added %(added)s to your test list (%(kept)s already on it).")
        elif owner:
            text = gettext("Added %(added)s to your test list.")
        elif kept:
            text = gettext("Added %(added)s to the shared test list (%(kept)s already on it).")
        else:
            text = gettext("Added %(added)s to the shared test list.")
        self.message_user(request, text % numbers, messages.SUCCESS)

    @admin.display(description=_("Also in segments"))
    def segment_list(self, obj: Recipient) -> str:
        """The segments whose rules hold this recipient now: one query for all of them."""
        segments = list(Audience.objects.filter(kind=Audience.Kind.SEGMENT)) if obj.pk else []
        if not segments:
            return "—"
        matches = (
            Recipient.objects.filter(pk=obj.pk)
            .values(
                **{
                    f"s{segment.pk}": ExpressionWrapper(
                        audience_q(segment), output_field=BooleanField()
                    )
                    for segment in segments
                }
            )
            .get()
        )
        held = [segment for segment in segments if matches[f"s{segment.pk}"]]
        if not held:
            return "—"
        return format_html_join(", ", "{}", ((admin_link(s),) for s in held))

    @admin.display(description=_("Deliveries (newest first)"))
    def recent_deliveries(self, obj: Recipient) -> str:
        if not obj.pk:
            return "—"
        rows = obj.deliveries.select_related("campaign").order_by("-id")
        return history_table(
            rows,
            [
                (gettext("Delivery"), lambda d: admin_link(d, f"#{d.pk}")),
                (gettext("Campaign"), lambda d: admin_link(d.campaign)),
                (gettext("Status"), lambda d: d.get_status_display()),
                (gettext("Updated"), lambda d: d.updated_at),
                (gettext("Error"), lambda d: reason_text(d.error)),
            ],
            changelist_link(
                Delivery, gettext("All deliveries of this recipient"), recipient__id__exact=obj.pk
            ),
        )

    @admin.display(description=_("Events (newest first)"))
    def recent_events(self, obj: Recipient) -> str:
        if not obj.pk:
            return "—"
        rows = obj.events.select_related("campaign").order_by("-id")
        return history_table(
            rows,
            [
                (gettext("Event"), lambda e: e.type),
                (gettext("When"), lambda e: e.occurred_at),
                (gettext("Campaign"), lambda e: admin_link(e.campaign)),
                (gettext("Detail"), lambda e: reason_text(e.detail)),
            ],
            changelist_link(
                DeliveryEvent, gettext("All events of this recipient"), recipient__id__exact=obj.pk
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
