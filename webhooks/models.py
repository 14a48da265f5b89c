"""The raw inbox: every inbound callback exactly as it arrived, before any parsing."""

from django.db import models


class InboundWebhook(models.Model):
    """One HTTP request to a webhook endpoint, kept whatever became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=32, default="sendios")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    body = models.BinaryField()
    content_type = models.CharField(max_length=255, blank=True)
    headers = models.JSONField(default=dict, blank=True)
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
