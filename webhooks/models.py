"""The raw inbox: every inbound callback exactly as it arrived, and what became of its events."""

from django.db import models

from notifications.models import DeliveryEvent


class InboundWebhook(models.Model):
    """One authenticated HTTP request to a webhook endpoint, kept whatever became of it.

    Stored before its body is parsed. Never holds the request's credentials: only headers of
    interest are kept, and the `token` parameter is removed from the query string.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=32, default="sendios")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    body = models.BinaryField()
    body_size = models.PositiveBigIntegerField(
        default=0, help_text="Bytes the sender sent (or declared, for a body too large to keep)."
    )
    content_type = models.CharField(max_length=255, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    query_string = models.TextField(blank=True, help_text="Without the token parameter.")
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    error = models.TextField(blank=True)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "inbound webhook"

    def __str__(self) -> str:
        return f"{self.source} #{self.pk} ({self.status})"


class InboundEvent(models.Model):
    """What became of one event of an inbound body: accepted, a duplicate, or rejected and why."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"

    inbound = models.ForeignKey(InboundWebhook, on_delete=models.CASCADE, related_name="events")
    position = models.PositiveIntegerField(help_text="Its place among the body's events, from 0.")
    key = models.TextField(
        blank=True, help_text='Its key in the body ("0", an array index; empty for a lone event).'
    )
    type = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    delivery_event = models.ForeignKey(
        DeliveryEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_events",
        help_text="The stored event (for a duplicate: the one stored before).",
    )

    class Meta:
        ordering = ["inbound", "position"]
        constraints = [
            models.UniqueConstraint(fields=["inbound", "position"], name="inbound_event_position")
        ]

    def __str__(self) -> str:
        return f"#{self.inbound_id}[{self.key or self.position}] {self.outcome}"
