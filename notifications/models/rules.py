"""The site's sending rules, frequency-cap policies and a member of staff's own settings."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .campaigns import SendWindowFields, send_window_constraints
from .people import Channel


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
