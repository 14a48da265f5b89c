"""The domain tables: who we send to, what we send, and what happened to every message.

Writes that are business logic live in the packages' services; these classes hold data,
constraints and the vocabulary shared by the database, the API and the admin.

One module for all of them, past 400 lines on purpose: Django finds an app's models here, the
tables reference each other (a campaign's deliveries, a delivery's events), and most of the
length is the indexes and constraints the engine relies on, each with the reason it exists.
"""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from notifications.campaigns.windows import ALL_DAYS


class Channel(models.TextChoices):
    """The four provider backends a campaign can go out through."""

    IMSHOP = "imshop", _("Imshop push")
    LEADCONVERTER = "leadconverter", "LeadConverter"
    YANDEX_MARKET = "yandex_market", _("Yandex Market chat")
    BITRIX24 = "bitrix24", _("Bitrix24 push")


class Recipient(models.Model):
    """A person we may message, identified by the id the client's own system gives them.

    `external_id` is also Imshop's `userId` and Sendios' `client_user_id`.
    """

    external_id = models.CharField(_("external id"), max_length=255, unique=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    attributes = models.JSONField(
        _("attributes"),
        default=dict,
        blank=True,
        help_text=_("Template variables for this recipient."),
    )
    opted_out_at = models.DateTimeField(
        _("opted out at"),
        null=True,
        blank=True,
        help_text=_("Set when the recipient asked not to be messaged."),
    )
    # A default in the database too: bulk loads that name the other columns (the benchmarks'
    # INSERTs, an operator's COPY) leave recipients in the site's zone.
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_(
            "An IANA zone such as Europe/Moscow: send windows are in this local time. "
            "The site's default zone when empty."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["-id"]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return f"{self.external_id} ({full_name})" if full_name else self.external_id


class RecipientAttribute(models.Model):
    """An attribute recipients may have: its name, the type of its values, and a label.

    The registry of what templates may refer to and segments may filter on. Every name a
    recipient has is registered (as text) by the services that write recipients, so validating
    a template needs no scan of the recipients' JSON. Values of a number, date or boolean
    attribute are stored typed (a JSON number, an ISO date, a JSON boolean): the services
    convert them on write, so a segment compares them in SQL without parsing.
    """

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes / no")

    name = models.CharField(_("name"), max_length=100, primary_key=True)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.TEXT)
    label = models.CharField(
        _("label"), max_length=200, blank=True, help_text=_("What staff read; the name when empty.")
    )

    class Meta:
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label or self.name


class Address(models.Model):
    """A recipient's address on one channel (LeadConverter subscriber, Yandex chat, ...)."""

    # No index of its own: the (recipient, channel) constraint starts with this column.
    recipient = models.ForeignKey(
        Recipient,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="addresses",
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    value = models.CharField(_("value"), max_length=255)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(fields=["channel", "value"], name="address_unique_value"),
            models.UniqueConstraint(
                fields=["recipient", "channel"], name="address_one_per_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.value}"


class Audience(models.Model):
    """A named set of recipients: static (its members) or a segment (its rules).

    A static audience's `size` is kept exact by the services that change its members; a
    segment's is the count of its last evaluation, made at `size_counted_at`. Either is frozen
    into deliveries at dispatch.
    """

    class Kind(models.TextChoices):
        STATIC = "static", _("Static list")
        SEGMENT = "segment", _("Segment")

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.STATIC)
    rules = models.JSONField(
        _("rules"), null=True, blank=True, help_text=_("A segment's rules (see docs/segments.md).")
    )
    members = models.ManyToManyField(
        Recipient,
        verbose_name=_("members"),
        through="AudienceMember",
        related_name="audiences",
        blank=True,
    )
    size = models.BigIntegerField(_("size"), default=0)
    size_counted_at = models.DateTimeField(
        _("size counted at"),
        null=True,
        blank=True,
        help_text=_("A segment's: when its size was counted."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    """Membership of one recipient in one audience."""

    # No index of its own: the (audience, recipient) constraint starts with this column.
    audience = models.ForeignKey(
        Audience, verbose_name=_("audience"), on_delete=models.CASCADE, db_index=False
    )
    recipient = models.ForeignKey(Recipient, verbose_name=_("recipient"), on_delete=models.CASCADE)
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("audience member")
        verbose_name_plural = _("audience members")
        constraints = [
            models.UniqueConstraint(fields=["audience", "recipient"], name="audience_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} in {self.audience_id}"


class MessageTemplate(models.Model):
    """What a campaign says. Every text field is a template rendered per recipient."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    title = models.CharField(
        _("title"), max_length=500, blank=True, help_text=_("Imshop push title.")
    )
    body = models.TextField(
        _("body"), blank=True, help_text=_("The message text on every channel.")
    )
    deeplink = models.CharField(
        _("deeplink"),
        max_length=2048,
        blank=True,
        help_text=_("Imshop: app link opened from the push."),
    )
    file_uuid = models.CharField(
        _("file uuid"),
        max_length=255,
        blank=True,
        help_text=_("LeadConverter: UUID of a file to attach."),
    )
    avatar_url = models.CharField(
        _("avatar url"),
        max_length=2048,
        blank=True,
        help_text=_("Bitrix24: https URL of the push's image."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SendWindowFields(models.Model):
    """A send window as stored: local start and end (`notifications.campaigns.windows` says
    what they mean, crossing midnight included) and its days, bit `weekday()` of `window_days`.
    Shared by a campaign's own window and the site's default one."""

    window_start = models.TimeField(_("window opens"), default=time(10))
    window_end = models.TimeField(
        _("window closes"),
        default=time(21),
        help_text=_("Local time. Earlier than the opening: the window ends the next day."),
    )
    window_days = models.PositiveSmallIntegerField(_("window days"), default=ALL_DAYS)

    class Meta:
        abstract = True


def send_window_constraints(model: str) -> list[models.CheckConstraint]:
    """What the window arithmetic cannot work with, refused by the database as a last line:
    the services refuse it first, with a sentence."""
    return [
        models.CheckConstraint(
            condition=Q(window_days__gte=1, window_days__lte=ALL_DAYS),
            name=f"{model}_window_days",
        ),
        models.CheckConstraint(
            condition=~Q(window_start=F("window_end")), name=f"{model}_window_length"
        ),
    ]


class CappedAction(models.TextChoices):
    """What becomes of a campaign's delivery to a recipient who has reached a frequency cap."""

    DEFER = "defer", _("Send it later, as soon as the caps allow")
    SKIP = "skip", _("Skip the recipient")


class Campaign(SendWindowFields):
    """One message to one or more audiences through one channel, and its lifecycle."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
        SCHEDULED = "scheduled", pgettext_lazy("campaign status", "Scheduled")
        RUNNING = "running", pgettext_lazy("campaign status", "Running")
        PAUSED = "paused", pgettext_lazy("campaign status", "Paused")
        COMPLETED = "completed", pgettext_lazy("campaign status", "Completed")
        CANCELLED = "cancelled", pgettext_lazy("campaign status", "Cancelled")

    class Kind(models.TextChoices):
        CAMPAIGN = "campaign", _("Campaign")
        TEST = "test", _("Test send")
        TRANSACTIONAL = "transactional", _("Transactional")

    class PauseCause(models.TextChoices):
        """Who paused a campaign: staff choose to (information), the engine had to (an alert)."""

        STAFF = "staff", _("Paused by staff")
        BREAKER = "breaker", _("Provider kept failing")
        CONFIGURATION = "configuration", _("Provider refused our settings")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CAMPAIGN)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="test_sends",
        help_text=_("For a test send: the campaign it tests."),
    )
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.PROTECT,
        related_name="campaigns",
        null=True,
        blank=True,
    )
    audiences = models.ManyToManyField(
        Audience, verbose_name=_("audiences"), related_name="campaigns"
    )
    excluded_audiences = models.ManyToManyField(
        Audience,
        verbose_name=_("excluded audiences"),
        related_name="excluding_campaigns",
        blank=True,
        help_text=_("Recipients in any of these are skipped."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    content = models.JSONField(
        _("content"),
        default=dict,
        blank=True,
        help_text=_(
            "The message as sent now: the template's fields frozen at dispatch, or a later "
            "version staff saved (`versions`)."
        ),
    )
    content_version = models.PositiveIntegerField(
        _("content version"), default=0, help_text=_("The version `content` is; 0 until dispatch.")
    )
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    sendios_project_id = models.PositiveIntegerField(
        _("sendios project id"),
        null=True,
        blank=True,
        help_text=_("Sendios project whose SMS callbacks belong here."),
    )
    sendios_template_id = models.PositiveIntegerField(
        _("sendios template id"),
        null=True,
        blank=True,
        help_text=_("Sendios template whose SMS callbacks belong here."),
    )
    pause_reason = models.TextField(_("pause reason"), blank=True)
    pause_cause = models.CharField(
        _("pause cause"), max_length=16, choices=PauseCause.choices, blank=True
    )
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    materialised_at = models.DateTimeField(
        _("materialised at"),
        null=True,
        blank=True,
        help_text=_("When every delivery of the audience existed."),
    )
    worker_seen_at = models.DateTimeField(
        _("worker seen at"),
        null=True,
        blank=True,
        help_text=_("Last sign of life of a worker sending this campaign."),
    )
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"),
        default=0,
        help_text=_("Provider requests failed in a row (the circuit breaker's count)."),
    )
    last_failure = models.TextField(
        _("last failure"),
        blank=True,
        help_text=_(
            "The error of the last request that failed permanently as a whole: only "
            "requests failing with the same error count on."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Set with its `CampaignSummary`, in one transaction, before retention removes the first
    # of its deliveries and events: from then on its pages read the summary, not the rows.
    details_removed_at = models.DateTimeField(
        _("details removed at"),
        null=True,
        blank=True,
        help_text=_("When its deliveries and events began to be removed; its numbers are kept."),
    )
    # A draft's send plan as last counted (`campaigns.people.campaign_people_count`): counting a
    # million people on every view of a page took over a second; pages show the count's age.
    people_counts = models.JSONField(
        _("people counts"),
        null=True,
        blank=True,
        help_text=_("A draft's people, excluded, opted out and without an address, as counted."),
    )
    people_counted_at = models.DateTimeField(_("people counted at"), null=True, blank=True)
    # Off unless a service turns it on: new marketing campaigns take the site's default
    # (`SendingRules`); test sends, API messages and campaigns from before windows existed go
    # out at any hour.
    window_on = models.BooleanField(
        _("send window"),
        default=False,
        help_text=_("Send only inside the window, in each recipient's local time."),
    )
    # Frequency caps (`campaigns.caps`): on for every campaign unless staff who may dispatch
    # turn them off, which its history records.
    caps_on = models.BooleanField(
        _("frequency caps"),
        default=True,
        help_text=_(
            "Off: this campaign also sends to recipients who have reached a cap. Needs the "
            "permission to dispatch; the campaign's history records who turned them off."
        ),
    )
    capped_action = models.CharField(
        _("when a recipient has reached a cap"),
        max_length=8,
        choices=CappedAction.choices,
        default=CappedAction.DEFER,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-id"]
        constraints = send_window_constraints("campaign")
        permissions = [
            (
                "dispatch_campaign",
                _("Can dispatch, schedule, pause, resume and cancel campaigns"),
            )
        ]
        indexes = [
            models.Index(
                fields=["sendios_project_id", "sendios_template_id"], name="campaign_sendios"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignSummary(models.Model):
    """What a campaign's pages and the API read from its deliveries and events, kept when
    retention removes those rows (`campaigns.retention`); `campaigns.kept` decides which is
    read. Delivery counts need no copy: `DeliveryCounter` is apart from the rows.

    `sms` holds the SMS funnel's counts (sent, lost, clicked); `links` each link's
    [link, clickers, clicks]; `timeline` per bucket unit (the campaign's own and the coarser
    ones) a list of [bucket start, event type, count].
    """

    campaign = models.OneToOneField(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="summary",
    )
    sms = models.JSONField(_("SMS"))
    links = models.JSONField(_("clicks by link"))
    capped_skipped = models.BigIntegerField(_("skipped by frequency caps"))
    timeline = models.JSONField(_("timeline"))
    kept_days = models.PositiveIntegerField(
        _("kept days"), help_text=_("Days after it finished that its details were kept.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Set when none of the kind is left, so the tick stops looking for them.
    deliveries_removed_at = models.DateTimeField(_("deliveries removed at"), null=True, blank=True)
    events_removed_at = models.DateTimeField(_("events removed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign summary")
        verbose_name_plural = _("campaign summaries")

    def __str__(self) -> str:
        return str(self.campaign_id)


class CampaignContent(models.Model):
    """One version of a campaign's message: the first frozen at dispatch, each later one saved
    by staff while the campaign was paused or before a retry. Deliveries name the version they
    were sent with; versions are never changed or deleted."""

    # No index of its own: the (campaign, version) constraint starts with this column.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="versions",
        db_index=False,
    )
    version = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The template it was taken from, when it was."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("content version")
        verbose_name_plural = _("content versions")
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="content_version_unique")
        ]

    def __str__(self) -> str:
        return gettext("version %(number)s") % {"number": self.version}


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
        indexes = [
            models.Index(fields=["campaign", "status"], name="delivery_campaign_status"),
            # Claims take the lowest ids first: in id order the scan stops after the rows it
            # needs, where (campaign, next_attempt_at) read every pending row and sorted them.
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="delivery_lease",
            ),
            # Start, release and record find a worker's deliveries by its claim.
            models.Index(
                fields=["claim_token"],
                condition=Q(claim_token__isnull=False),
                name="delivery_claim",
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
        unique=True,
        help_text=_("Hash of the callback's identity (event, sms_id, ts, link): stored once."),
    )

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["campaign", "type"], name="event_campaign_type"),
            models.Index(fields=["campaign", "occurred_at"], name="event_campaign_time"),
            models.Index(fields=["sms_id"], name="event_sms_id"),
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


class SeedRecipient(models.Model):
    """A recipient test sends go to in one click: one person's own (`owner`) or everyone's
    (no owner). Usually staff themselves, imported like any recipient."""

    recipient = models.ForeignKey(
        Recipient, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="seed_recipients",
        help_text=_("Whose test list it is on; everyone's when empty."),
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("test recipient")
        verbose_name_plural = _("test recipients")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "owner"], name="seed_unique_per_owner"),
            models.UniqueConstraint(
                fields=["recipient"], condition=Q(owner__isnull=True), name="seed_unique_shared"
            ),
        ]

    def __str__(self) -> str:
        return str(self.recipient_id)


class SendingRules(SendWindowFields):
    """The site's sending rules staff set: one row (`campaigns.sending_rules`), created on first
    read. The zone of recipients who have none, and the send window new marketing campaigns
    start with."""

    time_zone = models.CharField(
        _("recipients' default time zone"),
        max_length=64,
        help_text=_("An IANA zone such as Europe/Moscow, for recipients with no zone of theirs."),
    )
    window_on = models.BooleanField(
        _("send window for new campaigns"),
        default=True,
        help_text=_("New marketing campaigns send only inside this window, unless changed."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sending rules")
        verbose_name_plural = _("sending rules")
        constraints = send_window_constraints("sending_rules")

    def __str__(self) -> str:
        return gettext("Sending rules")


class FrequencyCap(models.Model):
    """A site policy: at most `limit` marketing messages to one recipient within a rolling
    `period`, on one channel or on all of them together (`campaigns.caps`)."""

    class Period(models.TextChoices):
        DAY = "day", _("rolling day (24 hours)")
        WEEK = "week", _("rolling week (7 days)")

    limit = models.PositiveSmallIntegerField(
        _("at most"), help_text=_("Marketing messages to one recipient.")
    )
    period = models.CharField(_("per"), max_length=8, choices=Period.choices)
    channel = models.CharField(
        _("channel"),
        max_length=32,
        choices=Channel.choices,
        blank=True,
        help_text=_("Empty: messages on every channel count together."),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("frequency cap")
        verbose_name_plural = _("frequency caps")
        ordering = ["channel", "period"]
        constraints = [
            # Two caps on one channel and period would leave staff guessing which one holds.
            models.UniqueConstraint(fields=["channel", "period"], name="frequency_cap_unique"),
            models.CheckConstraint(condition=Q(limit__gte=1), name="frequency_cap_limit"),
        ]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """'2 a day on Imshop push', '5 a week across all channels'."""
        from notifications.reasons import reason_text  # the sentences live there

        return reason_text(cap_reason_code(self))


def cap_reason_code(cap: "FrequencyCap") -> str:
    """A cap as a stored reason: it reads in the reader's language wherever it is shown."""
    from notifications.reasons import reason_encode

    return reason_encode(
        f"cap_{cap.period}" if cap.channel else f"cap_{cap.period}_all",
        count=cap.limit,
        **({"channel": cap.channel} if cap.channel else {}),
    )


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


class StaffProfile(models.Model):
    """What a member of staff chose for themselves: the time zone pages show times in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("An IANA zone such as Europe/Moscow; the site's when empty."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return gettext("profile of %(user)s") % {"user": self.user_id}


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


class RateLimitState(models.Model):
    """The shared limiter's state for one provider account (database backend).

    `tat` is GCRA's theoretical arrival time, in seconds since the epoch.
    """

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    tat = models.FloatField(_("tat"), default=0)
    hold_until = models.FloatField(_("hold until"), default=0)
    hold_reason = models.TextField(_("hold reason"), blank=True)

    class Meta:
        verbose_name = _("rate limit state")
        verbose_name_plural = _("rate limit states")

    def __str__(self) -> str:
        return self.key


class ProviderQuota(models.Model):
    """A provider account's quota as the provider itself last reported it (Yandex Market's
    X-RateLimit-Resource-* headers): other clients of the same account use it up too, which
    our own limiter cannot see."""

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    limit = models.PositiveIntegerField(_("limit"), null=True, blank=True)
    remaining = models.PositiveIntegerField(_("remaining"), null=True, blank=True)
    resets_at = models.DateTimeField(_("resets at"), null=True, blank=True)
    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        verbose_name = _("provider quota")
        verbose_name_plural = _("provider quotas")

    def __str__(self) -> str:
        return self.key


class RateLimitSlot(models.Model):
    """One request in flight for a provider account: the parallel-request cap (database backend)."""

    key = models.CharField(_("key"), max_length=200, db_index=True)
    token = models.CharField(_("token"), max_length=64, unique=True)
    expires_at = models.FloatField(_("expires at"))

    class Meta:
        verbose_name = _("rate limit slot")
        verbose_name_plural = _("rate limit slots")

    def __str__(self) -> str:
        return f"{self.key} {self.token}"


class Bitrix24Token(models.Model):
    """OAuth tokens of the Bitrix24 application for one portal; they rotate on every refresh."""

    portal = models.CharField(_("portal"), max_length=255, unique=True)
    access_token = models.TextField(_("access token"))
    refresh_token = models.TextField(_("refresh token"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Bitrix24 connection")
        verbose_name_plural = _("Bitrix24 connections")

    def __str__(self) -> str:
        return self.portal


# --- REST API -------------------------------------------------------------------------------


class IntegrationKey(AbstractAPIKey):
    """A key an integration sends as `Authorization: Api-Key <key>`; only its hash is stored.

    The library keeps the name, hash, expiry and revocation; we add whether the key may write
    and when it was last seen, so stale keys can be found and revoked.
    """

    # The library's own fields, again, only to name them in the reader's language (it has no
    # Russian catalogue); what they store and check is the library's.
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    name = models.CharField(
        _("name"),
        max_length=50,
        blank=False,
        default=None,
        help_text=_("What the key is for, such as the integration using it (up to 50 characters)."),
    )
    revoked = models.BooleanField(
        _("revoked"),
        blank=True,
        default=False,
        help_text=_("A revoked key stops working at once, for good."),
    )
    expiry_date = models.DateTimeField(
        _("expires"),
        blank=True,
        null=True,
        help_text=_("After this moment the key stops working."),
    )
    read_only = models.BooleanField(
        _("read only"),
        default=False,
        help_text=_("A read-only key may list and read, never change anything."),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an `Idempotency-Key` header, to replay on repeats.

    Unique per caller and key: of two concurrent identical requests only one can insert its
    record, and the other waits for it and replays its answer instead of sending again.
    """

    # "key:<api key id>" or "user:<user id>": whose key it is (keys are per caller).
    owner = models.CharField(_("owner"), max_length=200)
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(
        _("fingerprint"), max_length=64, help_text=_("SHA-256 of the method, path, body.")
    )
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response = models.JSONField(_("response"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class ExportJob(models.Model):
    """An export written by a worker instead of during the request: a list too long to build
    while the browser waits (`settings.EXPORT_BACKGROUND_ROWS`), the file kept for its owner
    until `settings.EXPORT_KEEP_HOURS` have passed.

    The list is named by its model (`list_model`, "notifications.delivery") and the query
    string its page had, so the worker reads exactly the rows the page counted.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel"

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("export status", "Waiting for a worker")
        RUNNING = "running", pgettext_lazy("export status", "Writing")
        DONE = "done", pgettext_lazy("export status", "Ready")
        FAILED = "failed", pgettext_lazy("export status", "Failed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.CASCADE
    )
    list_model = models.CharField(_("list model"), max_length=100)
    query_string = models.TextField(_("query string"), blank=True)
    file_format = models.CharField(_("file format"), max_length=4, choices=Format.choices)
    time_zone = models.CharField(
        _("time zone"), max_length=64, help_text=_("Times in the file are in this zone.")
    )
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        help_text=_("The file's headings, statuses and reasons are in this language."),
    )
    file_name = models.CharField(
        _("file name"), max_length=255, help_text=_("The name the download is offered as.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows_total = models.PositiveBigIntegerField(
        _("rows total"), help_text=_("The rows the list counted.")
    )
    rows_written = models.PositiveBigIntegerField(_("rows written"), default=0)
    # Relative to settings.EXPORTS_DIR; empty until the file is complete.
    file = models.CharField(_("file"), max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Moved by the worker as it writes: a running job whose mark stops moving has lost its worker.
    progress_at = models.DateTimeField(_("progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requested_by", "-created_at"])]
        # Each person sees their own, on the admin's page "Your exports".
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return self.file_name
