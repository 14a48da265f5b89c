"""Who we send to: recipients, their addresses and attributes, audiences and their members,
and the test lists staff keep."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
