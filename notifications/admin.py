"""Django admin: where staff manage recipients, templates and campaigns.

Pages stay fast on large tables: list queries select their relations, history on a detail page
shows the newest rows with a link to the full filtered list, and big changelists skip the full
count.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, Model, OuterRef, QuerySet
from django.db.models import Field as DbField
from django.forms import BaseFormSet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.http import urlencode
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .desk import (
    campaign_content,
    campaign_desk,
    campaign_live,
    deliveries_url,
    events_url,
    plan_sentence,
    rate_text,
    recipients_url,
)
from .forms import (
    AddressForm,
    CampaignForm,
    MessageTemplateForm,
    RecipientForm,
    RecipientImportForm,
)
from .importing import CsvFormatError, read_recipient_rows
from .models import (
    Address,
    Audience,
    AudienceMember,
    Bitrix24Token,
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    IntegrationKey,
    MessageTemplate,
    Recipient,
)
from .providers.bitrix24.oauth import authorize_url, exchange_code
from .providers.bitrix24.tokens import NOT_CONNECTED, DatabaseTokenStore, bitrix24_portal
from .providers.exceptions import ProviderError
from .providers.registry import channel_status
from .rendering import (
    CHANNEL_FIELDS,
    RenderError,
    compile_template,
    content_errors,
    recipient_context,
    template_fields,
)
from .selectors import (
    campaign_progress,
    campaign_send_plan,
    campaigns_audience_sizes,
    campaigns_progress,
    campaigns_sms_clicks,
    providers_overview,
)
from .services import (
    ImportReport,
    TransitionError,
    address_delete,
    address_save,
    audience_delete,
    audience_save,
    campaign_cancel,
    campaign_delete,
    campaign_dispatch,
    campaign_pause,
    campaign_preflight,
    campaign_resend_unknown,
    campaign_resume,
    campaign_retry_failed,
    campaign_save,
    campaign_send_test,
    message_template_delete,
    message_template_save,
    recipient_delete,
    recipient_save,
    recipients_import,
)
from .sms import sms_events_link_pending
from .staging import (
    IMPORT_SESSION_KEY,
    staged_import_discard,
    staged_import_open,
    staged_import_save,
)

HISTORY_ROWS = 20


def _changelist_link(model: type, label: str, **filters: object) -> str:
    url = reverse(f"admin:notifications_{model._meta.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), label)


def _history_table(rows: QuerySet, columns: list[tuple[str, callable]], more_link: str) -> str:
    """A read-only table of the newest rows, and a link to all of them."""
    items = list(rows[:HISTORY_ROWS])
    if not items:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((title,) for title, _ in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((value(item),) for _, value in columns)),)
            for item in items
        ),
    )
    more = format_html("<p>{}</p>", more_link)
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, more
    )


def _admin_link(obj: object, label: object = None) -> str:
    if obj is None:
        return "—"
    return _change_link(obj._meta.model_name, obj.pk, label if label is not None else obj)


def _change_link(model_name: str, pk: int | None, label: object) -> str:
    """A link to an object's admin page by id, without loading the object."""
    if pk is None:
        return "—"
    url = reverse(f"admin:notifications_{model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, label)


class ShownValuesMixin:
    """Each form field also carries the value staff were shown, so `changed_data` means what
    they changed rather than what differs from the row as it is now."""

    def formfield_for_dbfield(
        self, db_field: DbField, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            formfield.show_hidden_initial = True
        return formfield


class ThroughServicesAdmin(ShownValuesMixin, admin.ModelAdmin):
    """An admin whose saves and deletions are the domain services', never its own writes.

    A service may refuse with a sentence (TransitionError): staff see it and nothing changes.
    A save hands the service only what staff changed (see ShownValuesMixin), and what an import,
    a worker or another person wrote after the form opened stays.
    """

    actions = ["delete_selected"]

    # Not an abc.abstractmethod: ModelAdmin's metaclass (MediaDefiningClass) is not ABCMeta,
    # and a combined metaclass for one method would cost more than it says.
    def delete_through_service(self, obj: Model) -> None:
        """Delete one object by calling its service; each admin names its own."""
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except TransitionError as exc:
            # Raised inside the view's transaction: the save and its log entry rolled back.
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(request.path)

    def get_deleted_objects(self, objs, request: HttpRequest) -> tuple:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # No one deletes a delivery by itself; whether one goes along with what references it
        # is the service's rule (a forgotten recipient's do, off the counters; a campaign that
        # has any cannot be deleted), not a permission staff lack.
        perms_needed.discard(Delivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.delete_through_service(obj)

    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except TransitionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", object_id)

    @admin.action(description="Delete selected %(verbose_name_plural)s", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Django's confirmation page, then the service for each object: the ones it refuses
        stay, each with its reason, and the others go.

        The confirmation is checked as the page checks it: a permission the deletion needs and
        the user lacks is 403, and protected objects refuse the whole action.
        """
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        _, _, perms_needed, protected = self.get_deleted_objects(queryset, request)
        if perms_needed:
            raise PermissionDenied
        if protected:
            self.message_user(
                request,
                f"Cannot delete the selected {self.opts.verbose_name_plural}: these depend on "
                f"them and are protected: {'; '.join(strip_tags(p) for p in protected)}.",
                messages.ERROR,
            )
            return None
        deleted, refused = 0, []
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, [obj])
                    self.delete_through_service(obj)
            except TransitionError as exc:
                refused.append(str(exc))
            else:
                deleted += 1
        if deleted:
            label = self.opts.verbose_name if deleted == 1 else self.opts.verbose_name_plural
            self.message_user(request, f"Successfully deleted {deleted} {label}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
        return None


def _changed(form: forms.ModelForm, change: bool) -> dict:
    """The form's values to save: all of them for a new object, else what staff changed."""
    names = form.changed_data if change else form.cleaned_data
    return {name: form.cleaned_data[name] for name in names}


class AddressInline(ShownValuesMixin, admin.TabularInline):
    """A recipient's addresses; RecipientAdmin saves and deletes them through the services."""

    model = Address
    form = AddressForm
    extra = 0


class CampaignAudienceFilter(admin.SimpleListFilter):
    """Recipients in a campaign's audiences: where the numbers of a send plan link to."""

    title = "campaign audience"
    parameter_name = "campaign"
    RECENT = 10

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        recent = Campaign.objects.filter(kind=Campaign.Kind.CAMPAIGN).order_by("-id")
        return [(str(pk), name) for pk, name in recent.values_list("pk", "name")[: self.RECENT]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        members = AudienceMember.objects.filter(audience__campaigns=int(self.value()))
        return queryset.filter(pk__in=members.values("recipient_id"))


class ReachFilter(admin.SimpleListFilter):
    """Whom a campaign reaches or skips, by the rules of materialisation."""

    title = "reach in that campaign"
    parameter_name = "reach"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        if not request.GET.get("campaign"):
            return []
        return [
            ("reachable", "Reachable"),
            ("opted_out", "Skipped: opted out"),
            ("no_address", "Skipped: no address"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        campaign_id = request.GET.get("campaign", "")
        if not self.value() or not campaign_id.isdigit():
            return queryset
        channel = Campaign.objects.filter(pk=int(campaign_id)).values_list("channel", flat=True)
        channel = channel.first()
        if self.value() == "opted_out":
            return queryset.filter(opted_out_at__isnull=False)
        has_address = Address.objects.filter(recipient=OuterRef("pk"), channel=channel)
        if channel == Channel.IMSHOP:
            has_address = Recipient.objects.filter(pk=OuterRef("pk"))  # the external_id serves
        if self.value() == "no_address":
            return queryset.filter(opted_out_at__isnull=True).exclude(Exists(has_address))
        return queryset.filter(Exists(has_address), opted_out_at__isnull=True)


@admin.register(Recipient)
class RecipientAdmin(ThroughServicesAdmin):
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
        recipient_save(recipient=obj, data=_changed(form, change))

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
        return format_html_join(", ", "{}", ((_admin_link(a),) for a in audiences))

    @admin.display(description="Deliveries (newest first)")
    def recent_deliveries(self, obj: Recipient) -> str:
        if not obj.pk:
            return "—"
        rows = obj.deliveries.select_related("campaign").order_by("-id")
        return _history_table(
            rows,
            [
                ("Delivery", lambda d: _admin_link(d, f"#{d.pk}")),
                ("Campaign", lambda d: _admin_link(d.campaign)),
                ("Status", lambda d: d.get_status_display()),
                ("Updated", lambda d: d.updated_at),
                ("Error", lambda d: d.error or ""),
            ],
            _changelist_link(
                Delivery, "All deliveries of this recipient", recipient__id__exact=obj.pk
            ),
        )

    @admin.display(description="Events (newest first)")
    def recent_events(self, obj: Recipient) -> str:
        if not obj.pk:
            return "—"
        rows = obj.events.select_related("campaign").order_by("-id")
        return _history_table(
            rows,
            [
                ("Event", lambda e: e.type),
                ("When", lambda e: e.occurred_at),
                ("Campaign", lambda e: _admin_link(e.campaign)),
                ("Detail", lambda e: e.detail),
            ],
            _changelist_link(
                DeliveryEvent, "All events of this recipient", recipient__id__exact=obj.pk
            ),
        )


@admin.register(Address)
class AddressAdmin(ThroughServicesAdmin):
    form = AddressForm
    list_display = ["value", "channel", "recipient", "created_at"]
    list_filter = ["channel"]
    search_fields = ["=value", "=recipient__external_id"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient"]

    def get_fields(self, request: HttpRequest, obj: Address | None = None) -> list[str]:
        return ["recipient", "channel", "value"]

    def save_model(self, request: HttpRequest, obj: Address, form, change: bool) -> None:
        address_save(address=obj, data=_changed(form, change))

    def delete_through_service(self, obj: Address) -> None:
        address_delete(address=obj)


NO_NEW_AUDIENCE = "You may not create audiences: choose an existing one."


@admin.register(Audience)
class AudienceAdmin(ThroughServicesAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["member_count", "created_at"]
    fields = ["name", "description", "member_count", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_member_count=Count("audiencemember"))

    def save_model(self, request: HttpRequest, obj: Audience, form, change: bool) -> None:
        audience_save(audience=obj, data=_changed(form, change))

    def delete_through_service(self, obj: Audience) -> None:
        audience_delete(audience=obj)

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Audience) -> str:
        count = getattr(obj, "_member_count", None)
        if count is None:
            count = obj.audiencemember_set.count() if obj.pk else 0
        return (
            _changelist_link(Recipient, f"{count:,}", audiences__id__exact=obj.pk)
            if obj.pk
            else "0"
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
                        raise TransitionError(NO_NEW_AUDIENCE)
                    if audience is None:
                        audience = audience_save(audience=None, data={"name": name})
                report = recipients_import(rows=read_recipient_rows(stream), audience=audience)
        except FileNotFoundError:
            self.message_user(request, "The checked file is gone: upload it again.", messages.ERROR)
            return None
        except (CsvFormatError, TransitionError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        finally:
            staged_import_discard(pending)
        level = messages.WARNING if report.rejected else messages.SUCCESS
        self.message_user(request, f"{audience}: {report.summary()}", level)
        return report


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ThroughServicesAdmin):
    form = MessageTemplateForm
    list_display = ["name", "title", "short_body", "updated_at"]
    search_fields = ["name", "title", "body"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form, change: bool) -> None:
        message_template_save(template=obj, data=_changed(form, change))

    def delete_through_service(self, obj: MessageTemplate) -> None:
        message_template_delete(template=obj)

    @admin.display(description="Text")
    def short_body(self, obj: MessageTemplate) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_messagetemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The template rendered for one recipient on every channel, or why it cannot be."""
        template = get_object_or_404(MessageTemplate, pk=pk)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        query = request.GET.get("recipient", "").strip()
        recipient = None
        if query:
            recipient = Recipient.objects.filter(external_id=query).first()
        elif (first := Recipient.objects.order_by("id").first()) is not None:
            recipient = first
        previews = []
        if recipient is not None:
            context = recipient_context(recipient)
            try:
                compiled = compile_template(template_fields(template))
            except RenderError as exc:
                compiled, template_error = None, str(exc)
            else:
                template_error = ""
            for channel in Channel:
                if compiled is None:
                    previews.append({"channel": channel.label, "errors": [template_error]})
                    continue
                try:
                    content = compiled.render(context, fields=CHANNEL_FIELDS[channel])
                except RenderError as exc:
                    previews.append({"channel": channel.label, "errors": [str(exc)]})
                    continue
                problems = [m for ms in content_errors(channel, content).values() for m in ms]
                previews.append(
                    {
                        "channel": channel.label,
                        "fields": [
                            (name, getattr(content, name)) for name in CHANNEL_FIELDS[channel]
                        ],
                        "errors": problems,
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {template}",
            "opts": self.model._meta,
            "original": template,
            "template_obj": template,
            "query": query,
            "recipient": recipient,
            "previews": previews,
        }
        return TemplateResponse(
            request, "admin/notifications/messagetemplate/preview.html", context
        )


class CampaignChangeList(ChangeList):
    """The campaign list: each page's counters, audience sizes and SMS clicks are read in one
    query each for the whole page, never by counting deliveries."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        campaigns = list(self.result_list)
        progress = campaigns_progress(campaign_ids=[c.pk for c in campaigns])
        sizes = campaigns_audience_sizes(
            campaign_ids=[c.pk for c in campaigns if c.materialised_at is None]
        )
        clicks = campaigns_sms_clicks(
            campaign_ids=[c.pk for c in campaigns if c.sendios_project_id is not None]
        )
        for campaign in campaigns:
            campaign.desk_progress = progress[campaign.pk]
            campaign.desk_audience = sizes.get(campaign.pk, progress[campaign.pk]["total"])
            campaign.desk_clicks = clicks.get(campaign.pk)


@admin.register(Campaign)
class CampaignAdmin(ThroughServicesAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "status_badge",
        "channel",
        "audience",
        "progress_bar",
        "sent",
        "failed",
        "unknown",
        "sms_clicks",
        "when",
    ]
    list_filter = ["status", "channel", "kind", "created_by"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    list_per_page = 50
    show_full_result_count = False
    filter_horizontal = ["audiences"]
    autocomplete_fields = ["template"]
    readonly_fields = [
        "status",
        "pause_reason",
        "created_by",
        "dispatched_by",
        "dispatched_at",
        "started_at",
        "finished_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "channel", "template", "audiences", "scheduled_at", "status"]}),
        ("SMS callbacks (Sendios)", {"fields": ["sendios_project_id", "sendios_template_id"]}),
        (
            "History",
            {
                "classes": ["collapse"],
                "fields": [
                    "created_by",
                    "created_at",
                    "dispatched_by",
                    "dispatched_at",
                    "started_at",
                    "finished_at",
                    "updated_at",
                ],
            },
        ),
    ]

    class Media:
        css = {"all": ["notifications/desk.css"]}
        js = ["notifications/desk.js"]

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return CampaignChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        # Content and audience freeze at dispatch: only a draft can be edited.
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return [*self.readonly_fields, *CampaignForm.Meta.fields]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        data = _changed(form, change)
        audiences = data.pop("audiences", None)
        saved = campaign_save(
            campaign_id=obj.pk if change else None,
            data=data,
            audiences=audiences,
            user=request.user,
        )
        # The admin's own messages and log entry name the object it holds.
        obj.pk, obj._state.adding = saved.pk, False

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Nothing left to save: campaign_save set the audiences, and a campaign has no inlines."""

    def delete_through_service(self, obj: Campaign) -> None:
        campaign_delete(campaign_id=obj.pk)

    # --- List columns: read from what CampaignChangeList attached to each row. --------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Campaign) -> str:
        return format_html(
            '<span class="badge status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="Audience")
    def audience(self, obj: Campaign) -> str:
        size = getattr(obj, "desk_audience", None)
        if size is None:
            return "—"
        return format_html('<a href="{}">{}</a>', recipients_url(obj.pk), f"{size:,}")

    @admin.display(description="Progress")
    def progress_bar(self, obj: Campaign) -> str:
        progress = getattr(obj, "desk_progress", None)
        if not progress or not progress["total"]:
            return "—"
        percent = int(progress["done"] * 100 / progress["total"])
        return format_html(
            '<div class="progress" role="progressbar" aria-valuenow="{}" aria-valuemin="0" '
            'aria-valuemax="100" title="{} of {} done"><span style="width: {}%"></span></div>'
            '<span class="progress-text">{} of {}</span>',
            percent,
            f"{progress['done']:,}",
            f"{progress['total']:,}",
            percent,
            f"{progress['done']:,}",
            f"{progress['total']:,}",
        )

    def _status_count(self, obj: Campaign, status: str) -> str:
        progress = getattr(obj, "desk_progress", None)
        if not progress or not progress["total"]:
            return "—"
        count = progress[status]
        css = f"count {status}" if count else "count zero"
        return format_html(
            '<a class="{}" href="{}">{}</a>', css, deliveries_url(obj.pk, status), f"{count:,}"
        )

    @admin.display(description="Sent")
    def sent(self, obj: Campaign) -> str:
        return self._status_count(obj, "sent")

    @admin.display(description="Failed")
    def failed(self, obj: Campaign) -> str:
        return self._status_count(obj, "failed")

    @admin.display(description="Unknown")
    def unknown(self, obj: Campaign) -> str:
        return self._status_count(obj, "unknown")

    @admin.display(description="SMS clicks")
    def sms_clicks(self, obj: Campaign) -> str:
        clicks = getattr(obj, "desk_clicks", None)
        if clicks is None:
            return "—"
        return format_html('<a href="{}">{}</a>', events_url(obj.pk, "sms_click"), f"{clicks:,}")

    @admin.display(description="When", ordering="scheduled_at")
    def when(self, obj: Campaign) -> str:
        if obj.started_at:
            return format_html("Started {}", _moment(obj.started_at))
        if obj.scheduled_at:
            return format_html("Scheduled {}", _moment(obj.scheduled_at))
        return format_html("Created {}", _moment(obj.created_at))

    # --- The campaign page, its live progress and the provider status page. -----------------

    def has_dispatch_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.dispatch_campaign")

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/send/<slug:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="notifications_campaign_transition",
            ),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="notifications_campaign_progress",
            ),
            path(
                "providers/",
                self.admin_site.admin_view(self.providers_view),
                name="notifications_campaign_providers",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        campaign = Campaign.objects.filter(pk=object_id).select_related("template").first()
        if campaign is not None and self.has_view_permission(request, campaign):
            extra["desk"] = campaign_desk(campaign)
            if self.has_dispatch_permission(request):
                extra["transitions"] = _buttons(campaign)
            if campaign.status != Campaign.Status.DRAFT:
                # campaign_save and campaign_delete would refuse: no buttons that lead there.
                extra.update(
                    show_save=False,
                    show_save_and_continue=False,
                    show_save_and_add_another=False,
                    show_delete=False,
                )
        return super().change_view(request, object_id, form_url, extra)

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The campaign's live progress as JSON, for the few lines of script that poll it."""
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return JsonResponse(campaign_live(campaign))

    def providers_view(self, request: HttpRequest) -> HttpResponse:
        """Each provider: configured or not and why, its limits, the limiter, the last error."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Providers",
            "opts": self.model._meta,
            "providers": [
                {"overview": o, "rate": rate_text(o.limits) if o.limits else ""}
                for o in providers_overview()
            ],
            "can_connect_bitrix24": request.user.has_perm("notifications.add_bitrix24token"),
        }
        return TemplateResponse(request, "admin/notifications/campaign/providers.html", context)

    def transition_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """Ask for confirmation with the number of recipients touched, then call the service."""
        if not self.has_dispatch_permission(request) or action not in TRANSITIONS:
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        transition = TRANSITIONS[action]
        change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
        form = TransitionForm(
            request.POST if request.method == "POST" else None,
            action=action,
            initial={"scheduled_at": campaign.scheduled_at},
        )
        if request.method == "POST" and form.is_valid():
            try:
                message = transition.run(campaign, request.user, form.cleaned_data)
            except TransitionError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return redirect(change_url)
        sending = action in ("dispatch", "schedule")
        plan = None
        if sending and campaign.status == Campaign.Status.DRAFT:
            plan = campaign_send_plan(campaign=campaign, content=campaign_content(campaign))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{transition.label}: {campaign}",
            "opts": self.model._meta,
            "original": campaign,
            "campaign": campaign,
            "question": transition.question(campaign),
            "plan_sentence": plan_sentence(plan) if plan else "",
            "preflight": campaign_preflight(campaign=campaign) if sending else None,
            "form": form,
            "change_url": change_url,
            "button": transition.label,
            "dangerous": action in ("cancel", "resend_unknown"),
        }
        return TemplateResponse(request, "admin/notifications/campaign/transition.html", context)

    # --- Bulk actions: confirmed on a page that counts what they touch. ----------------------

    @admin.action(description="Pause selected campaigns", permissions=["dispatch"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            "pause",
            lambda c: campaign_pause(campaign_id=c.pk, user=request.user),
        )

    @admin.action(description="Resume selected campaigns", permissions=["dispatch"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            "resume",
            lambda c: campaign_resume(campaign_id=c.pk, user=request.user),
        )

    @admin.action(description="Cancel selected campaigns", permissions=["dispatch"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            "cancel",
            lambda c: campaign_cancel(campaign_id=c.pk, user=request.user),
        )

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet, verb: str, call
    ) -> HttpResponse | None:
        campaigns = list(queryset)
        if request.POST.get("confirmed") != "yes":
            progress = campaigns_progress(campaign_ids=[c.pk for c in campaigns])
            rows = [(c, progress[c.pk]["pending"] + progress[c.pk]["sending"]) for c in campaigns]
            context = {
                **self.admin_site.each_context(request),
                "title": f"{verb.capitalize()} {len(campaigns)} campaign(s)?",
                "opts": self.model._meta,
                "rows": rows,
                "open_total": sum(open_count for _, open_count in rows),
                "verb": verb,
                "action": request.POST.get("action", ""),
                "selected": [c.pk for c in campaigns],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/notifications/campaign/bulk_confirm.html", context
            )
        done, refused = 0, []
        for campaign in campaigns:
            try:
                call(campaign)
            except TransitionError as exc:
                refused.append(str(exc))
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} campaign(s) done.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
        return None

    actions = ["pause_selected", "resume_selected", "cancel_selected", "delete_selected"]


def _moment(value) -> str:
    return date_format(timezone.localtime(value), "j M Y, H:i")


class TransitionForm(forms.Form):
    """What a transition needs besides a click: a time to schedule, recipients for a test."""

    scheduled_at = forms.DateTimeField(
        label="Send at",
        help_text="Date and time, such as 2026-12-01 09:00 (server time zone).",
    )
    recipients = forms.CharField(
        label="Recipients (external_id)",
        help_text="Comma- or space-separated, at most 50.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args, action: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action != "schedule":
            del self.fields["scheduled_at"]
        if action != "send_test":
            del self.fields["recipients"]

    def clean_scheduled_at(self):
        moment = self.cleaned_data["scheduled_at"]
        if moment <= timezone.now():
            raise forms.ValidationError("Choose a time in the future, or dispatch now.")
        return moment

    def clean_recipients(self) -> list[int]:
        wanted = self.cleaned_data["recipients"].replace(",", " ").split()
        if not wanted:
            raise forms.ValidationError("Give at least one recipient's external_id.")
        found = dict(
            Recipient.objects.filter(external_id__in=wanted).values_list("external_id", "pk")
        )
        missing = [value for value in wanted if value not in found]
        if missing:
            raise forms.ValidationError(f"No recipient has external_id {', '.join(missing)}.")
        return list(found.values())


@dataclass(frozen=True)
class Transition:
    label: str
    question: Callable[[Campaign], str]
    run: Callable[[Campaign, object, dict], str]


def _reach(campaign: Campaign) -> str:
    plan = campaign_send_plan(campaign=campaign, content=campaign_content(campaign))
    skipped = plan.audience - plan.reachable
    sentence = f"'{campaign}' to {plan.reachable:,} recipients on {campaign.get_channel_display()}"
    if skipped:
        sentence += f" ({skipped:,} of {plan.audience:,} are skipped: opted out or no address)"
    return sentence


def _dispatch_question(campaign: Campaign) -> str:
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        return f"Schedule {_reach(campaign)} for {_moment(campaign.scheduled_at)}?"
    return f"Send {_reach(campaign)}?"


def _open(campaign: Campaign) -> int:
    progress = campaign_progress(campaign_id=campaign.pk)
    return progress["pending"] + progress["sending"]


def _dispatch(campaign: Campaign, user, data: dict) -> str:
    dispatched = campaign_dispatch(
        campaign_id=campaign.pk, user=user, scheduled_at=data.get("scheduled_at")
    )
    if dispatched.status == Campaign.Status.SCHEDULED:
        return f"'{campaign}' is scheduled for {_moment(dispatched.scheduled_at)}."
    return f"'{campaign}' is being sent."


def _count_of(status: str) -> Callable[[Campaign], int]:
    return lambda campaign: campaign_progress(campaign_id=campaign.pk)[status]


def _pause(campaign: Campaign, user, data: dict) -> str:
    campaign_pause(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' is paused."


def _resume(campaign: Campaign, user, data: dict) -> str:
    campaign_resume(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' goes on."


def _cancel(campaign: Campaign, user, data: dict) -> str:
    campaign_cancel(campaign_id=campaign.pk, user=user)
    return f"'{campaign}' is cancelled."


def _retry_failed(campaign: Campaign, user, data: dict) -> str:
    count = campaign_retry_failed(campaign_id=campaign.pk, user=user)
    return f"{count:,} failed deliveries will be sent again."


def _resend_unknown(campaign: Campaign, user, data: dict) -> str:
    count = campaign_resend_unknown(campaign_id=campaign.pk, user=user)
    return f"{count:,} deliveries of unknown fate will be sent again."


def _send_test(campaign: Campaign, user, data: dict) -> str:
    test = campaign_send_test(campaign_id=campaign.pk, recipient_ids=data["recipients"], user=user)
    return f"Test send '{test}' started."


TRANSITIONS: dict[str, Transition] = {
    "dispatch": Transition("Dispatch", _dispatch_question, _dispatch),
    "schedule": Transition("Schedule", lambda c: f"Schedule {_reach(c)}?", _dispatch),
    "pause": Transition(
        "Pause",
        lambda c: f"Pause '{c}'? {_open(c):,} deliveries wait; requests under way finish.",
        _pause,
    ),
    "resume": Transition(
        "Resume", lambda c: f"Resume '{c}'? {_open(c):,} deliveries are left to send.", _resume
    ),
    "cancel": Transition(
        "Cancel",
        lambda c: f"Cancel '{c}' for good? {_open(c):,} deliveries will not be sent.",
        _cancel,
    ),
    "retry_failed": Transition(
        "Retry failed",
        lambda c: f"Send the {_count_of('failed')(c):,} failed deliveries of '{c}' again?",
        _retry_failed,
    ),
    "resend_unknown": Transition(
        "Resend unknown",
        lambda c: (
            f"Send the {_count_of('unknown')(c):,} deliveries of '{c}' whose fate is "
            "unknown again? Some of these people may have got the message and will get it twice."
        ),
        _resend_unknown,
    ),
    "send_test": Transition(
        "Send test",
        lambda c: f"Send '{c}' now to chosen recipients as a test? The campaign does not change.",
        _send_test,
    ),
}


def _allowed(campaign: Campaign, progress: dict[str, int]) -> list[str]:
    """The transitions that make sense for a campaign as it stands."""
    status = Campaign.Status
    if campaign.kind != Campaign.Kind.CAMPAIGN:
        return []
    allowed = {
        status.DRAFT: ["dispatch", "schedule"],
        status.SCHEDULED: ["pause", "cancel"],
        status.RUNNING: ["pause", "cancel"],
        status.PAUSED: ["resume", "cancel"],
        status.COMPLETED: [],
        status.CANCELLED: [],
    }[campaign.status]
    if campaign.status in (status.RUNNING, status.PAUSED, status.COMPLETED):
        if progress["failed"]:
            allowed.append("retry_failed")
        if progress["unknown"]:
            allowed.append("resend_unknown")
    if campaign.status != status.CANCELLED:
        allowed.append("send_test")
    return allowed


def _buttons(campaign: Campaign) -> list[tuple[str, str]]:
    """(action, label) of each allowed transition; labels carry the numbers they touch."""
    progress = campaign_progress(campaign_id=campaign.pk)
    labels = {
        "dispatch": "Dispatch now",
        "schedule": "Schedule…",
        "retry_failed": f"Retry {progress['failed']:,} failed",
        "resend_unknown": f"Resend {progress['unknown']:,} unknown",
        "send_test": "Send test…",
    }
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        labels["dispatch"] = f"Dispatch for {_moment(campaign.scheduled_at)}"
    return [
        (action, labels.get(action, TRANSITIONS[action].label))
        for action in _allowed(campaign, progress)
    ]


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    fields = ["type", "occurred_at", "detail", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["occurred_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the system only; staff read it.

    Not deleted either: a deleted delivery would still count in its campaign's counters.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
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
    list_filter = ["status", "campaign__channel", "campaign"]
    search_fields = ["=recipient__external_id", "=address"]
    list_select_related = ["campaign", "recipient"]
    show_full_result_count = False
    inlines = [DeliveryEventInline]


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "occurred_at", "campaign", "recipient", "delivery_link", "detail"]
    list_filter = ["type", ("campaign", admin.EmptyFieldListFilter), "campaign"]
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
        return _change_link("delivery", obj.delivery_id, f"#{obj.delivery_id}")


@admin.register(Bitrix24Token)
class Bitrix24TokenAdmin(admin.ModelAdmin):
    """The Bitrix24 connection: shown without its tokens, made through the OAuth flow."""

    list_display = ["portal", "expires_at", "updated_at"]
    fields = ["portal", "expires_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list:
        return [
            path(
                "connect/",
                self.admin_site.admin_view(self.connect_view),
                name="notifications_bitrix24token_connect",
            ),
            path(
                "callback/",
                self.admin_site.admin_view(self.callback_view),
                name="notifications_bitrix24token_callback",
            ),
            *super().get_urls(),
        ]

    def _may_connect(self, request: HttpRequest) -> None:
        if not request.user.has_perm("notifications.add_bitrix24token"):
            raise PermissionDenied

    def connect_view(self, request: HttpRequest) -> HttpResponse:
        """Explain, then send the person to the portal to authorise the app."""
        self._may_connect(request)
        callback = request.build_absolute_uri(reverse("admin:notifications_bitrix24token_callback"))
        if request.method == "POST":
            state = secrets.token_urlsafe(24)
            request.session[BITRIX24_STATE_KEY] = state
            try:
                return redirect(authorize_url(state))
            except ProviderError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        configured, reason = channel_status(Channel.BITRIX24)
        context = {
            **self.admin_site.each_context(request),
            "title": "Connect Bitrix24",
            "opts": self.model._meta,
            "callback_url": callback,
            "portal": bitrix24_portal(),
            "connected": Bitrix24Token.objects.filter(portal=bitrix24_portal()).first(),
            "settings_missing": reason if not configured and reason != NOT_CONNECTED else "",
        }
        return TemplateResponse(request, "admin/notifications/bitrix24token/connect.html", context)

    def callback_view(self, request: HttpRequest) -> HttpResponse:
        """Bitrix24 sends the person back here with a code (valid 30 s): trade it for tokens."""
        self._may_connect(request)
        expected = request.session.pop(BITRIX24_STATE_KEY, None)
        state, code = request.GET.get("state", ""), request.GET.get("code", "")
        if not expected or not secrets.compare_digest(state, expected):
            self.message_user(
                request,
                "This answer from Bitrix24 does not match a connection we started; start again.",
                messages.ERROR,
            )
        elif not code:
            self.message_user(request, "Bitrix24 sent no authorisation code.", messages.ERROR)
        else:
            try:
                tokens = exchange_code(code)
            except ProviderError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                DatabaseTokenStore(bitrix24_portal()).save(tokens)
                self.message_user(
                    request, f"Bitrix24 portal {bitrix24_portal()} is connected.", messages.SUCCESS
                )
        return redirect("admin:notifications_bitrix24token_connect")


BITRIX24_STATE_KEY = "vestnik_bitrix24_oauth_state"


# API keys: ours carry a read-only flag and last use; the library's own model goes unused.
admin.site.unregister(APIKey)


@admin.register(IntegrationKey)
class IntegrationKeyAdmin(APIKeyModelAdmin):
    """API keys for integrations: the key is shown once, at creation; revoke to cut access."""

    list_display = [*APIKeyModelAdmin.list_display, "read_only", "last_used_at"]
    list_filter = [*APIKeyModelAdmin.list_filter, "read_only"]
