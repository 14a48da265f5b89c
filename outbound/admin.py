"""Webhook endpoints and the log of what was sent to them, in the admin.

Staff register an endpoint (URL, events), read its secret, see whether it works (the failures
and why it was turned off), and read each message sent: status, attempts, the last answer, and
the body. *Resend* sends chosen messages again.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.admin.base import (
    ReadOnlyAdmin,
    ThroughServicesAdmin,
    admin_link,
    changed_values,
    moment_text,
    reason_field,
)
from notifications.errors import InvalidInput
from notifications.formats import number_text
from notifications.reasons import reason_text

from .events import EVENT_CHOICES
from .models import Endpoint, Message
from .services import (
    endpoint_create,
    endpoint_delete,
    endpoint_input_check,
    endpoint_secret_roll,
    endpoint_update,
    messages_resend,
)


def messages_link(label: object, **filters: object) -> str:
    url = reverse("admin:outbound_message_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), label)


DISABLED_REASON = reason_field(Endpoint, "disabled_reason")


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_("Where the events are POSTed (https)."),
        widget=forms.URLInput(attrs={"class": "vURLField", "size": 80}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each request carries up to a batch of one campaign's events, in order."),
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "is_active"]

    def clean(self) -> dict:
        data = super().clean()
        if "url" in data and "events" in data:
            try:
                endpoint_input_check(data["url"], data["events"])
            except InvalidInput as exc:
                self.add_error(None, exc)
        return data


@admin.register(Endpoint)
class EndpointAdmin(ThroughServicesAdmin):
    form = EndpointForm
    list_display = ["__str__", "url", "event_list", "state", "waiting", "failed", "last_success"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "signing_secret",
        "state",
        DISABLED_REASON,
        "waiting",
        "failed",
        "created_by",
        "created",
    ]
    actions = ["delete_selected", "roll_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count("messages", filter=Q(messages__status="pending")),
                failed_count=Count("messages", filter=Q(messages__status="failed")),
                last_delivered_at=Max("messages__delivered_at"),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Endpoint | None = None) -> list:
        fields = ["url", "description", "events", "is_active"]
        if obj is None:
            return [(None, {"fields": fields})]
        return [
            (None, {"fields": fields}),
            (
                _("Health"),
                {"fields": ["state", DISABLED_REASON, "waiting", "failed"]},
            ),
            (_("Signing"), {"fields": ["signing_secret"]}),
            (_("History"), {"fields": ["created_by", "created"]}),
        ]

    def save_model(self, request: HttpRequest, obj: Endpoint, form, change: bool) -> None:
        if change:
            endpoint_update(endpoint=obj, data=changed_values(form, change))
            return
        created = endpoint_create(
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data.get("description", ""),
            user=request.user,
        )
        obj.pk, obj.secret = created.pk, created.secret

    def delete_through_service(self, obj: Endpoint) -> None:
        endpoint_delete(endpoint=obj)

    @admin.action(description=_("Give the selected endpoints new secrets"), permissions=["change"])
    def roll_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset:
            endpoint_secret_roll(endpoint=endpoint)
        count = queryset.count()
        sentence = ngettext(
            "A new secret for %(count)s endpoint: requests are signed with it from now on; "
            "give its receiver the new secret.",
            "New secrets for %(count)s endpoints: requests are signed with them from now on; "
            "give each receiver its new secret.",
            count,
        )
        self.message_user(request, sentence % {"count": count}, messages.WARNING)

    @admin.display(description=_("Created"))
    def created(self, obj: Endpoint) -> str:
        return moment_text(obj.created_at)

    @admin.display(description=_("Events"))
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description=_("State"))
    def state(self, obj: Endpoint) -> str:
        if not obj.is_active:
            return format_html(
                gettext("<strong>Off</strong>: {reason}"),
                reason=reason_text(obj.disabled_reason) or gettext("turned off"),
            )
        if obj.failing_since:
            return format_html(
                gettext(
                    "<strong>Failing</strong> since {moment}: retries go on; off after a day "
                    "without one success"
                ),
                moment=moment_text(obj.failing_since),
            )
        return gettext("Working")

    @admin.display(description=_("Waiting"))
    def waiting(self, obj: Endpoint) -> str:
        count = obj.pending_count  # annotated by get_queryset, for the list and the page alike
        return messages_link(
            number_text(count), endpoint__id__exact=obj.pk, status__exact="pending"
        )

    @admin.display(description=pgettext_lazy("outbound webhook requests", "Failed"))
    def failed(self, obj: Endpoint) -> str:
        count = obj.failed_count  # annotated by get_queryset, for the list and the page alike
        return messages_link(number_text(count), endpoint__id__exact=obj.pk, status__exact="failed")

    @admin.display(description=_("Last success"))
    def last_success(self, obj: Endpoint) -> str:
        last = obj.last_delivered_at
        return moment_text(last) if last else "—"

    @admin.display(description=_("Secret"))
    def signing_secret(self, obj: Endpoint) -> str:
        return format_html(
            gettext(
                "<code>{secret}</code><br>Receivers check each request with it: HMAC-SHA256 of "
                "<code>Vestnik-Timestamp</code>, a dot and the body, as "
                "<code>Vestnik-Signature: v1=&lt;hex&gt;</code> (the README shows how)."
            ),
            secret=obj.secret,
        )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """What was sent to each endpoint: written by the sender, read by staff, sent again on
    request (with the permission to change endpoints)."""

    list_display = [
        "id",
        "endpoint",
        "campaign_link",
        "event_count",
        "status",
        "attempts",
        "answer",
        "next_attempt",
        "delivered",
    ]
    list_filter = ["status", "endpoint"]
    list_select_related = ["endpoint", "campaign"]
    search_fields = ["=campaign__id", "campaign__name"]
    actions = ["resend"]
    fields = [
        "endpoint",
        "campaign_link",
        "events_range",
        "status",
        "attempts",
        "first_attempt",
        "last_attempt",
        "next_attempt",
        "delivered",
        "last_status_code",
        reason_field(Message, "last_answer"),
        "body_pretty",
    ]
    readonly_fields = fields

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("outbound.change_endpoint")

    @admin.action(description=_("Resend the selected messages"), permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = messages_resend(message_ids=queryset.values_list("pk", flat=True))
        sentence = ngettext(
            "%(count)s message will be sent again, before its campaign's later ones.",
            "%(count)s messages will be sent again, each before its campaign's later ones.",
            count,
        )
        self.message_user(request, sentence % {"count": number_text(count)}, messages.SUCCESS)

    @admin.display(description=_("Last answer"))
    def answer(self, obj: Message) -> str:
        if not obj.attempts:
            return "—"
        answer = reason_text(obj.last_answer)
        text = answer if len(answer) <= 80 else answer[:79] + "…"
        return f"{obj.last_status_code} {text}" if obj.last_status_code else text

    @admin.display(description=_("Next attempt"))
    def next_attempt(self, obj: Message) -> str:
        if obj.status != Message.Status.PENDING:
            return "—"
        return moment_text(obj.next_attempt_at) if obj.next_attempt_at else gettext("now")

    @admin.display(description=_("Campaign"))
    def campaign_link(self, obj: Message) -> str:
        return admin_link(obj.campaign)

    @admin.display(description=_("First attempt"))
    def first_attempt(self, obj: Message) -> str:
        return moment_text(obj.first_attempt_at) if obj.first_attempt_at else "—"

    @admin.display(description=_("Last attempt"))
    def last_attempt(self, obj: Message) -> str:
        return moment_text(obj.last_attempt_at) if obj.last_attempt_at else "—"

    @admin.display(description=_("Delivered"), ordering="delivered_at")
    def delivered(self, obj: Message) -> str:
        return moment_text(obj.delivered_at) if obj.delivered_at else "—"

    @admin.display(description=_("Events"))
    def events_range(self, obj: Message) -> str:
        return gettext("%(count)s (ids %(first)s to %(last)s)") % {
            "count": number_text(obj.event_count),
            "first": obj.first_event_id,
            "last": obj.last_event_id,
        }

    @admin.display(description=_("Body"))
    def body_pretty(self, obj: Message) -> str:
        text = json.dumps(json.loads(obj.body), indent=2, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)
