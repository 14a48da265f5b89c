"""The recipients' admin: recipients with their addresses, typed attributes and audiences,
list actions that add recipients to a static audience or remove them, addresses alone,
audiences, the filters a campaign's send plan links to, and the CSV import (a dry run first,
then the import).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, QuerySet
from django.forms import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from notifications.audiences.query import audience_q
from notifications.audiences.services import (
    audience_delete,
    audience_members_add,
    audience_members_remove,
    audience_save,
    recipient_audiences_set,
)
from notifications.errors import REFUSALS, InvalidInput
from notifications.recipients.reading import CsvFormatError, read_recipient_rows
from notifications.recipients.services import (
    address_delete,
    address_save,
    recipient_delete,
    recipient_save,
)
from notifications.recipients.staging import (
    IMPORT_SESSION_KEY,
    staged_import_discard,
    staged_import_open,
    staged_import_save,
)
from notifications.recipients.upsert import ImportReport, recipients_import

from ..models import (
    Address,
    Audience,
    Delivery,
    DeliveryEvent,
    Recipient,
    RecipientAttribute,
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
from .forms import (
    ATTRIBUTE_FIELD_PREFIX,
    AddressForm,
    AudienceMembershipForm,
    RecipientForm,
    RecipientImportForm,
)

# The recipient's own fields the form edits (its attributes and audiences come apart).
RECIPIENT_FIELDS = RecipientForm.Meta.fields


class AddressInline(ShownValuesMixin, admin.TabularInline):
    """A recipient's addresses; RecipientAdmin saves and deletes them through the services."""

    model = Address
    form = AddressForm
    extra = 0


def _were(count: int, negation: str = "") -> str:
    """'1 was a member', '34 were members', or with `negation` 'were not members'."""
    if count == 1:
        return f"1 was {negation}a member"
    return f"{count:,} were {negation}members"


class AudienceFilter(admin.SimpleListFilter):
    """Recipients in one audience, a segment by its rules as a static one by its members, so
    the list shows as many as the audience's size says.

    Its parameter is the one a plain `audiences` filter would use, so links to it keep working.
    """

    title = "audience"
    parameter_name = "audiences__id__exact"

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
class RecipientAdmin(ThroughServicesAdmin):
    """Recipients with their addresses, typed attributes, audiences and newest history; list
    actions add the selected recipients, or all that match the filters and search, to a static
    audience or remove them from one."""

    form = RecipientForm
    list_display = ["external_id", "phone", "first_name", "last_name", "opted_out_at", "created_at"]
    search_fields = ["=external_id", "=phone", "last_name", "=addresses__value"]
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
    actions = ["add_to_audience", "remove_from_audience", "delete_selected"]

    def get_fieldsets(self, request: HttpRequest, obj: Recipient | None = None) -> list:
        attributes = [
            ATTRIBUTE_FIELD_PREFIX + name
            for name in RecipientAttribute.objects.values_list("name", flat=True)
        ]
        return [
            (None, {"fields": RECIPIENT_FIELDS}),
            (
                "Template variables",
                {"fields": attributes, "description": self._attributes_description()},
            ),
            (
                "Audiences and history",
                {"fields": ["audiences", "segment_list", "recent_deliveries", "recent_events"]},
            ),
            (None, {"fields": ["created_at", "updated_at"]}),
        ]

    def _attributes_description(self) -> str:
        text = "One field per attribute in the registry; an empty field means no value."
        if not self.admin_site.is_registered(RecipientAttribute):
            return text
        url = reverse("admin:notifications_recipientattribute_add")
        return format_html('{} <a href="{}">Add an attribute</a>', text, url)

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

    def has_change_audience_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_audience")

    @admin.action(description="Add to audience…", permissions=["change_audience"])
    def add_to_audience(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._membership(request, queryset, adding=True)

    @admin.action(description="Remove from audience…", permissions=["change_audience"])
    def remove_from_audience(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._membership(request, queryset, adding=False)

    def _membership(
        self, request: HttpRequest, queryset: QuerySet, *, adding: bool
    ) -> HttpResponse | None:
        """A page that counts the recipients concerned and asks for the audience; on its
        confirmation, one statement adds or removes them all.

        With Django's "select all", `queryset` is the list's whole filtered and searched
        queryset (the page posts back to the list's own address, query string included).
        """
        may_create = adding and request.user.has_perm("notifications.add_audience")
        form = AudienceMembershipForm(may_create=may_create)
        if request.POST.get("confirmed") == "yes":
            form = AudienceMembershipForm(request.POST, may_create=may_create)
            if form.is_valid():
                try:
                    self._membership_change(request, queryset, form.cleaned_data, adding)
                except InvalidInput as exc:
                    field = "new_audience" if "name" in exc.error_dict else None
                    form.add_error(field, str(exc))
                else:
                    return None
        count = queryset.count()
        people = f"{count:,} recipient{'' if count == 1 else 's'}"
        across = request.POST.get("select_across") == "1"
        verb = "Add" if adding else "Remove"
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} recipients {'to' if adding else 'from'} an audience",
            "opts": self.model._meta,
            "concerned": f"{people} matching your filters and search"
            if across
            else f"{people} selected",
            "form": form,
            "verb": verb,
            "action": request.POST.get("action", ""),
            "select_across": "1" if across else "0",
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cl_query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/notifications/recipient/membership.html", context)

    def _membership_change(
        self, request: HttpRequest, queryset: QuerySet, choice: dict, adding: bool
    ) -> None:
        with transaction.atomic():
            audience = choice["audience"]
            if audience is None:
                audience = audience_save(audience=None, data={"name": choice["new_audience"]})
            concerned = queryset.count()
            if adding:
                added = audience_members_add(audience=audience, recipients=queryset)
                text = f"Added {added:,} to '{audience}' ({_were(concerned - added)} already)."
            else:
                removed = audience_members_remove(audience=audience, recipients=queryset)
                were_not = _were(concerned - removed, "not ")
                text = f"Removed {removed:,} from '{audience}' ({were_not})."
        self.message_user(request, text, messages.SUCCESS)

    @admin.display(description="Also in segments")
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


NO_NEW_AUDIENCE = "You may not create audiences: choose an existing one."


@admin.register(Audience)
class AudienceAdmin(ThroughServicesAdmin):
    """Audiences with their member counts, and the CSV import that fills them."""

    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["member_count", "created_at"]
    fields = ["name", "description", "member_count", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_member_count=Count("audiencemember"))

    def save_model(self, request: HttpRequest, obj: Audience, form, change: bool) -> None:
        audience_save(audience=obj, data=changed_values(form, change))

    def delete_through_service(self, obj: Audience) -> None:
        audience_delete(audience=obj)

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Audience) -> str:
        count = getattr(obj, "_member_count", None)
        if count is None:
            count = obj.audiencemember_set.count() if obj.pk else 0
        return (
            changelist_link(Recipient, f"{count:,}", audiences__id__exact=obj.pk) if obj.pk else "0"
        )

    def get_urls(self) -> list:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="notifications_audience_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV of recipients, see what a dry run would do, then confirm the import.

        Between the two steps the file waits in a temporary folder under a random name that only
        this person's session knows.
        """
        if not (
            request.user.has_perm("notifications.add_recipient")
            and request.user.has_perm("notifications.change_recipient")
        ):
            raise PermissionDenied
        may_add_audience = request.user.has_perm("notifications.add_audience")
        report, pending = None, None
        form = RecipientImportForm()
        if request.method == "POST" and "confirm" in request.POST:
            pending = request.session.pop(IMPORT_SESSION_KEY, None)
            if not pending or pending["token"] != request.POST["confirm"]:
                self.message_user(
                    request, "That check has expired: upload the file again.", messages.ERROR
                )
                return redirect("admin:notifications_audience_import")
            report = self._import_confirmed(request, pending, may_add_audience)
            if report is None:
                return redirect("admin:notifications_audience_import")
            pending = None
        elif request.method == "POST":
            form = RecipientImportForm(request.POST, request.FILES)
            if form.is_valid() and form.cleaned_data["new_audience"] and not may_add_audience:
                form.add_error("new_audience", NO_NEW_AUDIENCE)
            if form.is_valid():
                pending = staged_import_save(form.cleaned_data)
                try:
                    report = recipients_import(
                        rows=read_recipient_rows(form.cleaned_data["file"]),
                        audience=form.cleaned_data["audience"],
                        dry_run=True,
                    )
                except CsvFormatError as exc:
                    staged_import_discard(pending)
                    pending = None
                    form.add_error("file", str(exc))
                else:
                    request.session[IMPORT_SESSION_KEY] = pending
        context = {
            **self.admin_site.each_context(request),
            "title": "Import recipients from CSV",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "pending": pending,
            "shown_rejections": report.rejected[:500] if report else [],
        }
        return TemplateResponse(request, "admin/notifications/audience/import.html", context)

    def _import_confirmed(
        self, request: HttpRequest, pending: dict, may_add_audience: bool
    ) -> ImportReport | None:
        """Import a file checked by a dry run; None (with a message) when it cannot be."""
        try:
            with staged_import_open(pending) as stream:
                audience = None
                if pending["audience_id"]:
                    audience = Audience.objects.filter(pk=pending["audience_id"]).first()
                if audience is None:
                    name = pending["new_audience"] or f"Import {pending['filename']}"
                    audience = Audience.objects.filter(name=name).first()
                    if audience is None and not may_add_audience:
                        raise InvalidInput(NO_NEW_AUDIENCE)
                    if audience is None:
                        audience = audience_save(audience=None, data={"name": name})
                report = recipients_import(rows=read_recipient_rows(stream), audience=audience)
        except FileNotFoundError:
            self.message_user(request, "The checked file is gone: upload it again.", messages.ERROR)
            return None
        except (CsvFormatError, *REFUSALS) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        finally:
            staged_import_discard(pending)
        level = messages.WARNING if report.rejected else messages.SUCCESS
        self.message_user(request, f"{audience}: {report.summary()}", level)
        return report
