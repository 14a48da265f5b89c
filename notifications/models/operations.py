"""What the engine keeps to run: the shared rate limiter's state, providers' quotas,
Bitrix24's tokens, API keys, idempotency records and export jobs."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rest_framework_api_key.models import AbstractAPIKey


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
