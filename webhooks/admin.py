"""Admin for the raw inbox: every inbound callback exactly as received, and its events' fate.

History, read-only: no one adds, changes or deletes a body or an event here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.admin.base import reason_field
from notifications.formats import number_text
from notifications.reasons import reason_text

from .models import InboundEvent, InboundWebhook
from .services import NotReprocessable, inbound_webhook_reprocess

# A body may hold thousands of events; its page lists the first ones and links to the rest.
INLINE_EVENTS = 200


def _delivery_event_link(event: InboundEvent) -> str:
    if event.delivery_event_id is None:
        return "—"
    url = reverse("admin:notifications_deliveryevent_change", args=[event.delivery_event_id])
    return format_html('<a href="{}">#{}</a>', url, event.delivery_event_id)


EVENT_REASON = reason_field(InboundEvent, "reason")


class InboundEventInline(admin.TabularInline):
    """What became of each event of a body, read-only."""

    model = InboundEvent
    fields = ["position", "key", "type", "outcome", EVENT_REASON, "stored_event"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = format_lazy(_("Events (the first {count})"), count=INLINE_EVENTS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundEvent]:
        # Positions count from 0, so this is the first events without slicing the queryset.
        return super().get_queryset(request).filter(position__lt=INLINE_EVENTS)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("Stored event"))
    def stored_event(self, obj: InboundEvent) -> str:
        return _delivery_event_link(obj)


@admin.register(InboundWebhook)
class InboundWebhookAdmin(admin.ModelAdmin):
    """The inbox: every authenticated request with its body, its counts and its events."""

    list_display = [
        "id",
        "source",
        "received_at",
        "status",
        "body_size",
        "accepted",
        "duplicates",
        "rejected",
        "remote_addr",
    ]
    list_filter = ["status", "source"]
    search_fields = ["=remote_addr"]
    readonly_fields = [
        "source",
        "received_at",
        "status",
        reason_field(InboundWebhook, "error"),
        "accepted",
        "duplicates",
        "rejected",
        "all_events",
        "processed_at",
        "body_size",
        "content_type",
        "remote_addr",
        "headers",
        "query_string",
        "raw_body",
    ]
    exclude = ["body", "error"]
    inlines = [InboundEventInline]
    actions = ["reprocess"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundWebhook]:
        # Bodies run to a megabyte each: the list never needs them, the page loads its own.
        return super().get_queryset(request).defer("body")

    @admin.display(description=_("Body"))
    def raw_body(self, obj: InboundWebhook) -> str:
        text = bytes(obj.body).decode("utf-8", errors="replace")
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)

    @admin.display(description=_("Events"))
    def all_events(self, obj: InboundWebhook) -> str:
        url = reverse("admin:webhooks_inboundevent_changelist")
        return format_html(
            '<a href="{}?inbound__id__exact={}">{}</a>',
            url,
            obj.pk,
            gettext("Every event of this body"),
        )

    @admin.action(
        description=_("Reprocess: parse the stored bodies again"), permissions=["reprocess"]
    )
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundWebhook]) -> None:
        for inbound_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                receipt = inbound_webhook_reprocess(inbound_id=inbound_id)
            except NotReprocessable as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            if receipt.error:
                self.message_user(
                    request,
                    gettext("#%(id)s rejected: %(error)s")
                    % {"id": inbound_id, "error": reason_text(receipt.error)},
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    gettext(
                        "#%(id)s: %(accepted)s accepted, %(duplicates)s duplicates, "
                        "%(rejected)s rejected."
                    )
                    % {
                        "id": inbound_id,
                        "accepted": number_text(receipt.accepted),
                        "duplicates": number_text(receipt.duplicates),
                        "rejected": number_text(receipt.rejected),
                    },
                )

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_inboundwebhook")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    """Events across all bodies, to find the rejected ones and why."""

    list_display = [
        "id",
        "inbound",
        "position",
        "key",
        "type",
        "outcome",
        EVENT_REASON,
        "stored_event",
    ]
    exclude = ["reason"]
    readonly_fields = [EVENT_REASON]
    list_filter = ["outcome", "type"]
    search_fields = ["=inbound__id"]
    list_select_related = ["inbound"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundEvent]:
        return super().get_queryset(request).defer("inbound__body")

    @admin.display(description=_("Stored event"))
    def stored_event(self, obj: InboundEvent) -> str:
        return _delivery_event_link(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
