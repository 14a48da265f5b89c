"""Endpoints integrations registered, the POSTs owed to them, and how far the history is read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Endpoint(models.Model):
    """A URL that receives the campaign events it subscribed to, signed with its secret."""

    url = models.URLField("URL", max_length=2000, help_text="Where the events are POSTed (https).")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(
        default=list, help_text="The event types it receives (outbound.events.EVENT_TYPES)."
    )
    secret = models.CharField(
        max_length=64, editable=False, help_text="Signs every request (HMAC-SHA256)."
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Receives events. Cleared by staff, or by the sender after an "
        "endpoint kept failing (see the reason).",
    )
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="The first failure since its last success."
    )
    # Events up to this id were written before the endpoint existed: it is not sent those.
    since_event_id = models.BigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["url", "pk"]
        verbose_name = "outbound webhook"

    def __str__(self) -> str:
        return self.description or self.url


class Message(models.Model):
    """One POST owed to an endpoint: up to a batch of one campaign's events, in their order.

    Per endpoint and `stream` (the campaign, or 0 for events of none) only the oldest message
    not yet delivered or given up is sent: the next waits for it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="messages")
    campaign = models.ForeignKey(
        "notifications.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stream = models.BigIntegerField(help_text="The order it is sent in: the campaign's id, or 0.")
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    body = models.TextField(help_text="The JSON sent, byte for byte, on every attempt.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_answer = models.TextField(blank=True, help_text="The answer's start, or the error.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = "outbound webhook request"
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
        return f"Request #{self.pk}: {self.event_count} events"


class Cursor(models.Model):
    """One row: how far the history has been read, and who is pumping.

    On PostgreSQL an event id is taken before its transaction commits, so a lower id can become
    visible after a higher one. `settled_event_id` only advances to a `candidate_event_id` once
    every transaction running when the candidate was read has ended (`candidate_xmax`), see
    `fanout.settled_horizon`.
    """

    event_id = models.BigIntegerField(default=0, help_text="The last event fanned out.")
    settled_event_id = models.BigIntegerField(default=0)
    candidate_event_id = models.BigIntegerField(null=True, blank=True)
    candidate_xmax = models.BigIntegerField(null=True, blank=True)
    pump_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="outbound_cursor_single")]

    def __str__(self) -> str:
        return f"events read up to {self.event_id}"
