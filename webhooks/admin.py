"""Admin for the raw inbox: every inbound callback, exactly as received."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from .models import InboundWebhook


@admin.register(InboundWebhook)
class InboundWebhookAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "source",
        "received_at",
        "status",
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
        "error",
        "accepted",
        "duplicates",
        "rejected",
        "processed_at",
        "content_type",
        "remote_addr",
        "headers",
        "raw_body",
    ]
    exclude = ["body"]
    show_full_result_count = False

    @admin.display(description="Body")
    def raw_body(self, obj: InboundWebhook) -> str:
        text = bytes(obj.body).decode("utf-8", errors="replace")
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
