"""What happened to every message: one delivery per campaign and recipient, its history of
events, the per-status counters, and the sends frequency caps count."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .campaigns import Campaign
from .people import Channel, Recipient


class Delivery(models.Model):
    """One message of one campaign to one recipient, and where it stands."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery status", "Pending")
        SENDING = "sending", pgettext_lazy("delivery status", "Sending")
        SENT = "sent", pgettext_lazy("delivery status", "Sent")
        FAILED = "failed", pgettext_lazy("delivery status", "Failed")
        SKIPPED = "skipped", pgettext_lazy("delivery status", "Skipped")
        UNKNOWN = "unknown", pgettext_lazy("delivery status", "Unknown")
        CANCELLED = "cancelled", pgettext_lazy("delivery status", "Cancelled")

    # No index of its own: the composite indexes below all start with the campaign, and one
    # more index would be one more write for every delivery of every campaign.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    recipient = models.ForeignKey(
        Recipient, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="deliveries"
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claim_token = models.UUIDField(_("claim token"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    # Set when the provider request for this delivery begins: a claimed delivery whose request
    # never began can go back to pending; one whose request began may have reached the provider.
    request_started_at = models.DateTimeField(_("request started at"), null=True, blank=True)
    content = models.JSONField(
        _("content"), null=True, blank=True, help_text=_("What was actually sent.")
    )
    content_version = models.PositiveIntegerField(
        _("content version"),
        null=True,
        blank=True,
        help_text=_("The campaign's content version it was last tried with."),
    )
    provider_response = models.JSONField(_("provider response"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "recipient"], name="delivery_unique")
        ]
        # No index on the lease or the claim token: a worker's rows and the expired ones are
        # found among the campaign's `sending` rows (campaign, status), a few thousand at most.
        # An index on either would cost every claim, start and record one more entry, and make
        # the start, which changes only unindexed columns, unable to update the row in place
        # (a HOT update: no index entry at all; the table's fillfactor leaves it the room).
        indexes = [
            models.Index(fields=["campaign", "status"], name="delivery_campaign_status"),
            # Claims take the lowest ids first: in id order the scan stops after the rows it
            # needs, where (campaign, next_attempt_at) read every pending row and sorted them.
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
            # When each message went: the timeline and the pace read it here, and no
            # per-delivery "sent" event repeats it. Written once, by the update that sends.
            models.Index(
                fields=["campaign", "sent_at"],
                condition=Q(sent_at__isnull=False),
                name="delivery_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"


class DeliveryEvent(models.Model):
    """Append-only history: every status change of a campaign and of a delivery, and every
    SMS callback. Outbound webhooks read it as their outbox (the `outbound` app)."""

    class Type(models.TextChoices):
        CAMPAIGN_STATUS = "campaign_status", pgettext_lazy("delivery event", "Campaign status")
        CAMPAIGN_CAPS = (
            "campaign_caps",
            pgettext_lazy("delivery event", "Campaign's frequency caps turned off or on"),
        )
        QUEUED = "queued", pgettext_lazy("delivery event", "Queued")
        SENT = "sent", pgettext_lazy("delivery event", "Sent")
        FAILED = "failed", pgettext_lazy("delivery event", "Failed")
        RETRY_SCHEDULED = "retry_scheduled", pgettext_lazy("delivery event", "Retry scheduled")
        UNKNOWN = "unknown", pgettext_lazy("delivery event", "Unknown")
        SKIPPED = "skipped", pgettext_lazy("delivery event", "Skipped")
        CANCELLED = "cancelled", pgettext_lazy("delivery event", "Cancelled")
        SMS_SENT = "sms_sent", pgettext_lazy("delivery event", "SMS sent")
        SMS_LOST = "sms_lost", pgettext_lazy("delivery event", "SMS lost")
        SMS_CLICK = "sms_click", pgettext_lazy("delivery event", "SMS click")

    # What became of a campaign itself, as staff and integrations read its history: kept when
    # retention removes the campaign's other events.
    CAMPAIGN_HISTORY = (Type.CAMPAIGN_STATUS, Type.CAMPAIGN_CAPS)

    # Not limited to Type: callbacks of other kinds are stored under their own name.
    type = models.CharField(_("type"), max_length=32)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    # No index of its own: (campaign, type) and (campaign, occurred_at) start with it.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    delivery = models.ForeignKey(
        Delivery,
        verbose_name=_("delivery"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    recipient = models.ForeignKey(
        Recipient,
        verbose_name=_("recipient"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    detail = models.TextField(_("detail"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    # Callbacks (Sendios SMS events) carry their own identity and the ids they are linked by;
    # system events leave these empty.
    sms_id = models.BigIntegerField(_("sms id"), null=True, blank=True)
    link = models.TextField(
        _("link"), blank=True, help_text=_("On sms_click: the link that was followed.")
    )
    sendios_user_id = models.CharField(
        _("sendios user id"),
        max_length=255,
        blank=True,
        help_text=_("client_user_id: the recipient's external_id."),
    )
    sendios_project_id = models.PositiveIntegerField(_("sendios project id"), null=True, blank=True)
    sendios_template_id = models.PositiveIntegerField(
        _("sendios template id"), null=True, blank=True
    )
    dedup_key = models.CharField(
        _("dedup key"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("Hash of the callback's identity (event, sms_id, ts, link): stored once."),
    )

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        ordering = ["-id"]
        constraints = [
            # Only callbacks have a key, so the send path's events write no entry here. The
            # webhook's insert names the predicate (ON CONFLICT (dedup_key) WHERE dedup_key IS
            # NOT NULL, `db.bulk.bulk_insert_objects`): without it a partial index is no arbiter.
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="event_dedup_key",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "type"], name="event_campaign_type"),
            models.Index(fields=["campaign", "occurred_at"], name="event_campaign_time"),
            # Only callbacks carry an sms_id or a dedup key: indexes of theirs skip every other
            # event, so the send path's events (sent, failed, retry_scheduled...) write none.
            # A campaign's SMS funnel counts its own callbacks' sms_ids by type from this index
            # alone (an index-only scan, in sms_id order); the global one serves lookups of an
            # sms_id in any campaign (an audience's "delivered" rule looks for its sms_lost).
            models.Index(
                fields=["campaign", "sms_id", "type"],
                condition=Q(sms_id__isnull=False),
                name="event_campaign_sms",
            ),
            models.Index(fields=["sms_id"], condition=Q(sms_id__isnull=False), name="event_sms_id"),
            # Callbacks waiting for their recipient or campaign to appear.
            models.Index(
                fields=["sendios_user_id"],
                condition=Q(recipient__isnull=True) & ~Q(sendios_user_id=""),
                name="event_unlinked_recipient",
            ),
            models.Index(
                fields=["sendios_project_id", "sendios_template_id"],
                condition=Q(campaign__isnull=True, sendios_project_id__isnull=False),
                name="event_unlinked_campaign",
            ),
            # Retention removes events of no campaign by their age (`notifications.retention`);
            # every other event has a campaign, so the index stays small.
            models.Index(
                fields=["created_at"],
                condition=Q(campaign__isnull=True),
                name="event_unlinked_age",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class DeliveryCounter(models.Model):
    """How many deliveries of a campaign are in each status, kept as the statuses change.

    Counting a million rows on every page view is what this avoids; `counters_rebuild`
    recomputes them from the deliveries should they ever drift.
    """

    # No index of its own: the (campaign, status) constraint starts with this column.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="counters",
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=16, choices=Delivery.Status.choices)
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("delivery counter")
        verbose_name_plural = _("delivery counters")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "status"], name="counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.count}"


class CountedSend(models.Model):
    """A marketing message as frequency caps count it: a delivery of a campaign (never a test
    send or a transactional message) whose request began, written in the same transaction as
    the start. It counts while its delivery is in flight, sent or unknown (a failed message
    reached nobody); the tick removes rows older than the longest period."""

    delivery = models.OneToOneField(
        Delivery,
        verbose_name=_("delivery"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # No index of its own: the one below starts with the recipient.
    recipient = models.ForeignKey(
        Recipient,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        db_index=False,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("counted send")
        verbose_name_plural = _("counted sends")
        indexes = [models.Index(fields=["recipient", "sent_at"], name="counted_send_recent")]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.channel} {self.sent_at:%Y-%m-%d %H:%M}"
