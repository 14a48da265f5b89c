"""Campaigns, the list's filters, the bodies and answers of their lifecycle actions, and stats."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.campaigns.services import campaign_errors
from notifications.campaigns.windows import WEEKDAY_NAMES, days_mask, days_of

from ...models import Audience, Campaign, CappedAction, Channel, MessageTemplate
from .base import ReasonCodeField, ReasonField, StrictModelSerializer, StrictSerializer


@extend_schema_field(
    {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", "example": "10:00"}
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time with no zone, such as 10:00: read in each recipient's own zone."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class WeekdaysField(serializers.ListField):
    """Days of the week by name (`mon` ... `sun`), stored as the models store them."""

    child = serializers.ChoiceField(choices=WEEKDAY_NAMES)

    def to_internal_value(self, data: Any) -> int:
        return days_mask([WEEKDAY_NAMES.index(name) for name in super().to_internal_value(data)])

    def to_representation(self, value: int) -> list[str]:
        return [WEEKDAY_NAMES[day] for day in sorted(days_of(value))]


class CampaignSerializer(StrictModelSerializer):
    """A campaign; only drafts can be changed, and the send window while scheduled too."""

    template = serializers.PrimaryKeyRelatedField(queryset=MessageTemplate.objects.all())
    audiences = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(), many=True, required=False
    )
    excluded_audiences = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(),
        many=True,
        required=False,
        help_text="Audiences (static or segments) whose recipients are skipped, with the "
        "reason `Excluded by <name>.` (code `excluded_by`), even when another audience includes "
        "them.",
    )
    pause_reason = ReasonField(help_text="Why it is paused, in the request's language.")
    pause_reason_code = ReasonCodeField(
        source="pause_reason",
        help_text="Why it is paused, as a stable code (`paused_by`, `breaker`, ...); null when "
        "the reason is a person's own words or from before the codes.",
    )
    pause_cause = serializers.ChoiceField(
        choices=Campaign.PauseCause.choices,
        allow_blank=True,
        read_only=True,
        help_text="Who paused it: `staff` chose to; `breaker` and `configuration` mean the "
        "provider kept failing or refused our settings. Empty unless paused.",
    )
    window_on = serializers.BooleanField(
        required=False,
        help_text="Send only inside the window (`window_start` to `window_end` on "
        "`window_days`), in each recipient's local time. A new campaign starts with the "
        "site's default window; it can change while the campaign is a draft or scheduled.",
    )
    window_start = LocalTimeField(
        required=False, help_text="Local time the window opens, such as 10:00."
    )
    window_end = LocalTimeField(
        required=False,
        help_text="Local time it closes; earlier than `window_start` (22:00 to 06:00), the "
        "window ends the next day, and belongs to the day it started.",
    )
    window_days = WeekdaysField(
        required=False,
        help_text='The days the window opens on, such as ["mon", "tue"]; at least one.',
    )
    caps_on = serializers.BooleanField(
        required=False,
        help_text="Whether the site's frequency caps hold this campaign's messages back (true "
        "by default). Turning them off needs the permission to dispatch (a key that is not "
        "read-only has it); without it the answer is 400 on `caps_on`. Written in the "
        "campaign's history (`campaign_caps` events). Can change while the campaign is a "
        "draft or scheduled.",
    )
    capped_action = serializers.ChoiceField(
        choices=CappedAction.choices,
        required=False,
        help_text="What becomes of a message to a recipient who has reached a cap: `defer` "
        "sends it as soon as the caps allow, `skip` skips the recipient with the reason. Can "
        "change while the campaign is a draft or scheduled.",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "kind",
            "channel",
            "template",
            "audiences",
            "excluded_audiences",
            "status",
            "content",
            "scheduled_at",
            "sendios_project_id",
            "sendios_template_id",
            "window_on",
            "window_start",
            "window_end",
            "window_days",
            "caps_on",
            "capped_action",
            "content_version",
            "pause_reason",
            "pause_reason_code",
            "pause_cause",
            "dispatched_at",
            "started_at",
            "finished_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "kind",
            "status",
            "content",
            "content_version",
            "pause_reason",
            "pause_cause",
            "dispatched_at",
            "started_at",
            "finished_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def value(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        errors = campaign_errors(
            channel=value("channel"),
            template=value("template"),
            sendios_project_id=value("sendios_project_id"),
            sendios_template_id=value("sendios_template_id"),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CampaignFilterSerializer(serializers.Serializer):
    """Query parameters of the campaign list."""

    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Campaign.Kind.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)


class DispatchSerializer(StrictSerializer):
    """Dispatch now, or at `scheduled_at` when it is in the future."""

    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)


class RetriedSerializer(serializers.Serializer):
    """How many deliveries were queued again."""

    retried = serializers.IntegerField()


class SmsStatsSerializer(serializers.Serializer):
    """SMS callbacks counted for a campaign."""

    sent = serializers.IntegerField()
    lost = serializers.IntegerField()
    delivered = serializers.IntegerField()
    clicked = serializers.IntegerField()
    click_through_rate = serializers.FloatField(allow_null=True)


class CampaignStatsSerializer(serializers.Serializer):
    """Deliveries by status, SMS outcomes and how far the campaign has got (0 to 1)."""

    campaign = serializers.IntegerField()
    status = serializers.CharField()
    deliveries = serializers.DictField(child=serializers.IntegerField())
    sms = SmsStatsSerializer()
    progress = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)
    capped_deferred = serializers.IntegerField(
        help_text="Deliveries pending now because a frequency cap deferred them."
    )
    capped_skipped = serializers.IntegerField(
        help_text="Deliveries skipped because their recipient had reached a frequency cap."
    )


class RateSerializer(serializers.Serializer):
    """A share: `numerator` of `denominator`, and their `ratio` (null when the denominator is 0)."""

    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    ratio = serializers.FloatField(allow_null=True)


class ReportRatesSerializer(serializers.Serializer):
    """The campaign's rates, each of what it is a share of."""

    sent = RateSerializer(help_text="Deliveries sent of reachable (every delivery not skipped).")
    failed = RateSerializer(help_text="Deliveries failed of reachable.")
    unknown = RateSerializer(help_text="Deliveries with no clear answer of reachable.")
    sms_delivered = RateSerializer(help_text="SMS delivered (sent, never lost) of SMS sent.")
    sms_lost = RateSerializer(help_text="SMS lost of SMS sent.")
    click_through = RateSerializer(help_text="SMS clicked of SMS delivered.")


class LinkClicksSerializer(serializers.Serializer):
    """Clicks on one link: people who clicked it (by recipient, or by SMS where the recipient
    is not known) and clicks in all. `link` is "" for clicks that named no link."""

    link = serializers.CharField(allow_blank=True)
    clickers = serializers.IntegerField()
    clicks = serializers.IntegerField()


class CampaignReportSerializer(serializers.Serializer):
    """A campaign's counts, rates and clicks by link, as its page shows them."""

    campaign = serializers.IntegerField()
    status = serializers.CharField()
    deliveries = serializers.DictField(child=serializers.IntegerField())
    reachable = serializers.IntegerField()
    sms = SmsStatsSerializer()
    rates = ReportRatesSerializer()
    links = LinkClicksSerializer(many=True, help_text="Most clicked first.")
