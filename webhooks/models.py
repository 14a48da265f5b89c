"""The raw inbox: every inbound callback exactly as it arrived, and what became of its events."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notifications.models import DeliveryEvent


class InboundWebhook(models.Model):
    """One authenticated HTTP request to a webhook endpoint, kept whatever became of it.

    Stored before its body is parsed. Never holds the request's credentials: only headers of
    interest are kept, and the `token` parameter is removed from the query string.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", pgettext_lazy("inbound webhook status", "Received")
        PROCESSED = "processed", pgettext_lazy("inbound webhook status", "Processed")
        REJECTED = "rejected", pgettext_lazy("inbound webhook status", "Rejected")
        FAILED = "failed", pgettext_lazy("inbound webhook status", "Failed")

    source = models.CharField(_("source"), max_length=32, default="sendios")
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    body = models.BinaryField(_("body"))
    body_size = models.PositiveBigIntegerField(
        _("body size"),
        default=0,
        help_text=_("Bytes the sender sent (or declared, for a body too large to keep)."),
    )
    content_type = models.CharField(_("content type"), max_length=255, blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    query_string = models.TextField(
        _("query string"), blank=True, help_text=_("Without the token parameter.")
    )
    remote_addr = models.GenericIPAddressField(_("remote addr"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    error = models.TextField(_("error"), blank=True)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound webhook")
        verbose_name_plural = _("inbound webhooks")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.source} #{self.pk} ({self.status})"


class InboundEvent(models.Model):
    """What became of one event of an inbound body: accepted, a duplicate, or rejected and why."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", pgettext_lazy("inbound event outcome", "Accepted")
        DUPLICATE = "duplicate", pgettext_lazy("inbound event outcome", "Duplicate")
        REJECTED = "rejected", pgettext_lazy("inbound event outcome", "Rejected")

    inbound = models.ForeignKey(
        InboundWebhook, verbose_name=_("inbound"), on_delete=models.CASCADE, related_name="events"
    )
    position = models.PositiveIntegerField(
        _("position"), help_text=_("Its place among the body's events, from 0.")
    )
    key = models.TextField(
        _("key"),
        blank=True,
        help_text=_('Its key in the body ("0", an array index; empty for a lone event).'),
    )
    type = models.CharField(_("type"), max_length=32, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.TextField(_("reason"), blank=True)
    delivery_event = models.ForeignKey(
        DeliveryEvent,
        verbose_name=_("delivery event"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_events",
        help_text=_("The stored event (for a duplicate: the one stored before)."),
    )

    class Meta:
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")
        ordering = ["inbound", "position"]
        constraints = [
            models.UniqueConstraint(fields=["inbound", "position"], name="inbound_event_position")
        ]

    def __str__(self) -> str:
        return f"#{self.inbound_id}[{self.key or self.position}] {self.outcome}"
