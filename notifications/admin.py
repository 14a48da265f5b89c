"""Django admin: where staff manage recipients, templates and campaigns.

Pages stay fast on large tables: list queries select their relations, history on a detail page
shows the newest rows with a link to the full filtered list, and big changelists skip the full
count.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

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
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)
from .rendering import (
    CHANNEL_FIELDS,
    RenderError,
    compile_template,
    content_errors,
    recipient_context,
    template_fields,
)
from .services import recipient_attributes_register, recipients_import

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
    url = reverse(f"admin:notifications_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


class AddressInline(admin.TabularInline):
    model = Address
    form = AddressForm
    extra = 0


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    form = RecipientForm
    list_display = ["external_id", "phone", "first_name", "last_name", "opted_out_at", "created_at"]
    search_fields = ["=external_id", "=phone", "last_name", "=addresses__value"]
    list_filter = [("opted_out_at", admin.EmptyFieldListFilter), "audiences", "addresses__channel"]
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
        super().save_model(request, obj, form, change)
        recipient_attributes_register(names=obj.attributes)

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
class AddressAdmin(admin.ModelAdmin):
    form = AddressForm
    list_display = ["value", "channel", "recipient", "created_at"]
    list_filter = ["channel"]
    search_fields = ["=value", "=recipient__external_id"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient"]

    def get_fields(self, request: HttpRequest, obj: Address | None = None) -> list[str]:
        return ["recipient", "channel", "value"]


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["member_count", "created_at"]
    fields = ["name", "description", "member_count", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_member_count=Count("audiencemember"))

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
        """Upload a CSV of recipients into an audience and show what happened to each row."""
        if not (
            request.user.has_perm("notifications.add_recipient")
            and request.user.has_perm("notifications.change_recipient")
        ):
            raise PermissionDenied
        report = None
        form = RecipientImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            audience = form.cleaned_data["audience"]
            if audience is None:
                audience = Audience.objects.create(name=form.cleaned_data["new_audience"])
            try:
                report = recipients_import(
                    rows=read_recipient_rows(form.cleaned_data["file"]), audience=audience
                )
            except CsvFormatError as exc:
                form.add_error("file", str(exc))
            else:
                level = messages.WARNING if report.rejected else messages.SUCCESS
                self.message_user(request, f"{audience}: {report.summary()}", level)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import recipients from CSV",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "shown_rejections": report.rejected[:500] if report else [],
        }
        return TemplateResponse(request, "admin/notifications/audience/import.html", context)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["name", "title", "short_body", "updated_at"]
    search_fields = ["name", "title", "body"]
    readonly_fields = ["created_at", "updated_at"]

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


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "channel",
        "status",
        "template",
        "scheduled_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "channel", "created_by"]
    search_fields = ["name"]
    list_select_related = ["template", "created_by"]
    filter_horizontal = ["audiences"]
    autocomplete_fields = ["template"]
    readonly_fields = [
        "status",
        "delivery_counts",
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
        ("Progress", {"fields": ["delivery_counts", "pause_reason"]}),
        (
            "History",
            {
                "fields": [
                    "created_by",
                    "created_at",
                    "dispatched_by",
                    "dispatched_at",
                    "started_at",
                    "finished_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        # Content and audience freeze at dispatch: only a draft can be edited.
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return [*self.readonly_fields, *CampaignForm.Meta.fields]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Deliveries")
    def delivery_counts(self, obj: Campaign) -> str:
        if not obj.pk:
            return "—"
        counts = dict(
            obj.deliveries.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        if not counts:
            return "No deliveries yet."
        return format_html_join(
            ", ",
            "{}",
            (
                (
                    _changelist_link(
                        Delivery,
                        f"{label}: {counts[value]:,}",
                        campaign__id__exact=obj.pk,
                        status__exact=value,
                    ),
                )
                for value, label in Delivery.Status.choices
                if counts.get(value)
            ),
        )


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
    """History is written by the system only; staff read it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
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

    @admin.display(description="Delivery")
    def delivery_link(self, obj: DeliveryEvent) -> str:
        return _admin_link_by_id("delivery", obj.delivery_id)


def _admin_link_by_id(model_name: str, pk: int | None) -> str:
    if pk is None:
        return "—"
    url = reverse(f"admin:notifications_{model_name}_change", args=[pk])
    return format_html('<a href="{}">#{}</a>', url, pk)
