"""What we send: message templates, campaigns (with their send window and frequency-cap
choice), their content versions, and the summary kept once retention removes their rows."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.windows import ALL_DAYS

from .people import Audience, Channel


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
