"""Endpoints integrations registered, the POSTs owed to them, and how far the history is read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Endpoint(models.Model):
    """A URL that receives the campaign events it subscribed to, signed with its secret."""

    url = models.URLField(
        _("URL"), max_length=2000, help_text=_("Where the events are POSTed (https).")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(
        _("events"),
        default=list,
        help_text=_("The event types it receives (outbound.events.EVENT_TYPES)."),
    )
    secret = models.CharField(
        _("secret"),
        max_length=64,
        editable=False,
        help_text=_("Signs every request (HMAC-SHA256)."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Receives events. Cleared by staff, or by the sender after an "
            "endpoint kept failing (see the reason)."
        ),
    )
    disabled_reason = models.TextField(_("disabled reason"), blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        help_text=_("The first failure since its last success."),
    )
    # Events up to this id were written before the endpoint existed: it is not sent those.
    since_event_id = models.BigIntegerField(_("since event id"), default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("outbound webhook")
        verbose_name_plural = _("outbound webhooks")
        ordering = ["url", "pk"]

    def __str__(self) -> str:
        return self.description or self.url


class Message(models.Model):
    """One POST owed to an endpoint: up to a batch of one campaign's events, in their order.

    Per endpoint and `stream` (the campaign, or 0 for events of none) only the oldest message
    not yet delivered or given up is sent: the next waits for it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("outbound webhook request status", "Pending")
        DELIVERED = "delivered", pgettext_lazy("outbound webhook request status", "Delivered")
        FAILED = "failed", pgettext_lazy("outbound webhook request status", "Failed")

    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="messages"
    )
    campaign = models.ForeignKey(
        "notifications.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stream = models.BigIntegerField(
        _("stream"), help_text=_("The order it is sent in: the campaign's id, or 0.")
    )
    first_event_id = models.BigIntegerField(_("first event id"))
    last_event_id = models.BigIntegerField(_("last event id"))
    event_count = models.PositiveIntegerField(_("event count"))
    body = models.TextField(
        _("body"), help_text=_("The JSON sent, byte for byte, on every attempt.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    last_answer = models.TextField(
        _("last answer"), blank=True, help_text=_("The answer's start, or the error.")
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("outbound webhook request")
        verbose_name_plural = _("outbound webhook requests")
        ordering = ["-id"]
        indexes = [
            # The sender's question: the oldest pending message of each stream.
            models.Index(
                fields=["endpoint", "stream", "id"],
                condition=Q(status="pending"),
                name="outbound_pending_stream",
            ),
            models.Index(fields=["endpoint", "status"], name="outbound_endpoint_status"),
        ]

    def __str__(self) -> str:
        sentence = ngettext(
            "Request #%(id)s: %(count)s event",
            "Request #%(id)s: %(count)s events",
            self.event_count,
        )
        return sentence % {"id": self.pk, "count": self.event_count}


class Cursor(models.Model):
    """One row: how far the history has been read, and who is pumping.

    On PostgreSQL an event id is taken before its transaction commits, so a lower id can become
    visible after a higher one. `settled_event_id` only advances to a `candidate_event_id` once
    every transaction running when the candidate was read has ended (`candidate_xmax`), see
    `fanout.settled_horizon`.
    """

    event_id = models.BigIntegerField(
        _("event id"), default=0, help_text=_("The last event fanned out.")
    )
    settled_event_id = models.BigIntegerField(_("settled event id"), default=0)
    candidate_event_id = models.BigIntegerField(_("candidate event id"), null=True, blank=True)
    candidate_xmax = models.BigIntegerField(_("candidate xmax"), null=True, blank=True)
    pump_until = models.DateTimeField(_("pump until"), null=True, blank=True)

    class Meta:
        verbose_name = _("cursor")
        verbose_name_plural = _("cursors")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="outbound_cursor_single")]

    def __str__(self) -> str:
        return gettext("events read up to %(id)s") % {"id": self.event_id}
