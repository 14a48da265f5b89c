"""The message templates' admin, and its preview: a template rendered for one recipient on every
channel, or why it cannot be.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.content.preview import message_preview
from notifications.content.rendering import RECIPIENT_FIELDS, template_fields
from notifications.content.services import message_template_delete, message_template_save

from ..models import Channel, MessageTemplate, Recipient, RecipientAttribute
from .base import ThroughServicesAdmin, changed_values
from .forms import MessageTemplateForm


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ThroughServicesAdmin):
    """Message templates, with a preview for one recipient on every channel."""

    form = MessageTemplateForm
    list_display = ["name", "title", "short_body", "updated_at"]
    search_fields = ["name", "title", "body"]
    readonly_fields = ["variables", "created_at", "updated_at"]

    @admin.display(description=_("Variables you can use"))
    def variables(self, obj: MessageTemplate | None) -> str:
        """The recipient's fields and every registered attribute, with its label and type: the
        names `{{ ... }}` may use."""
        text = gettext("text")
        own = [
            (name, capfirst(Recipient._meta.get_field(name).verbose_name), text)
            for name in RECIPIENT_FIELDS
        ]
        registered = [
            (a.name, a.label or a.name, a.get_type_display().lower())
            for a in RecipientAttribute.objects.order_by("name")
        ]
        return format_html(
            '<ul class="variables">{}</ul>',
            format_html_join(
                "",
                "<li><code>{{{{ {} }}}}</code> {} ({})</li>",
                [*own, *registered],
            ),
        )

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form, change: bool) -> None:
        message_template_save(template=obj, data=changed_values(form, change))

    def delete_through_service(self, obj: MessageTemplate) -> None:
        message_template_delete(template=obj)

    @admin.display(description=_("Text"))
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
            for channel in Channel:
                preview = message_preview(
                    fields=template_fields(template), channel=channel, recipient=recipient
                )
                previews.append(
                    {
                        "channel": channel.label,
                        "fields": preview.labelled_fields,
                        "errors": preview.problems,
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview of %(template)s") % {"template": template},
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
