"""The campaign desk's moves through the API: content versions, the retry outlook, copies,
rescheduling, and test sends with what they sent.

Requests are checked for their shape only; the services refuse what cannot be done
(`campaign_content_edit`, `campaign_reschedule`, `campaign_send_test`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from notifications.campaigns.direct import MAX_TEST_RECIPIENTS

from ...models import Campaign, CampaignContent, Delivery, MessageTemplate
from .base import MAX_ID, ReasonCodeField, ReasonField, StrictSerializer
from .campaigns import CampaignSerializer
from .messages import MessageContentSerializer


class ContentEditSerializer(MessageContentSerializer):
    """A new content version: its fields, or `template` to take a template's text as it is now.
    A field left out is empty in the new version."""

    template = serializers.PrimaryKeyRelatedField(
        queryset=MessageTemplate.objects.all(),
        required=False,
        allow_null=True,
        help_text="Take this template's current text (then give no other field).",
    )

    def validate(self, attrs: dict) -> dict:
        fields = set(attrs) - {"template"}
        if attrs.get("template") is not None and fields:
            raise serializers.ValidationError(
                {"template": [_("Give a template or the message's fields, not both.")]}
            )
        if attrs.get("template") is None and not fields:
            raise serializers.ValidationError(
                {"body": [_("Give the message's fields, or a template to take them from.")]}
            )
        return attrs


class ContentVersionSerializer(serializers.ModelSerializer):
    """One version of a campaign's message, and how many deliveries were last tried with it."""

    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, default=None, read_only=True
    )
    deliveries = serializers.IntegerField(
        read_only=True, help_text="Deliveries whose last attempt sent this version."
    )

    class Meta:
        model = CampaignContent
        fields = ["version", "content", "template", "created_by", "created_at", "deliveries"]


class RetryOutlookSerializer(serializers.Serializer):
    """What *Retry failed* would send now: the current version, how many deliveries failed, and
    how many of those failed on this very version's content (they would fail again)."""

    version = serializers.IntegerField()
    failed = serializers.IntegerField()
    content_errors = serializers.IntegerField()
    example_error = serializers.CharField(allow_blank=True)
    template_changed = serializers.BooleanField(
        help_text="The campaign's template now says something other than the campaign sends."
    )
    will_fail_again = serializers.BooleanField()


class CopyAnswerSerializer(serializers.Serializer):
    """The new draft, and the template made for it when the campaign's current version differs
    from its template (null when the template is reused)."""

    campaign = CampaignSerializer()
    new_template = serializers.IntegerField(allow_null=True)


class SiteZoneDateTimeField(serializers.DateTimeField):
    """A date-time where one without an offset is read in the site's time zone (`TIME_ZONE`),
    whoever calls: an API key has no zone of its own."""

    def default_timezone(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)


class RescheduleSerializer(StrictSerializer):
    """A new start for a scheduled campaign."""

    scheduled_at = SiteZoneDateTimeField(
        help_text="In the future. Without an offset it is read in the site's time zone.",
    )


class SendTestSerializer(StrictSerializer):
    """Who a test send goes to: external_ids, recipient ids, and the test lists."""

    recipients = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        max_length=MAX_TEST_RECIPIENTS,
        help_text="external_ids",
    )
    recipient_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_TEST_RECIPIENTS,
    )
    seed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also send to the test lists: the caller's own and the shared one (an API "
        "key has no list of its own: the shared one only).",
    )


class TestDeliverySerializer(serializers.ModelSerializer):
    """One message of a test send: what was rendered and sent, and what the provider said."""

    recipient_external_id = serializers.CharField(source="recipient.external_id")
    error = ReasonField(help_text="Why it was skipped or failed, in the request's language.")
    error_code = ReasonCodeField(
        source="error",
        help_text="Why it was skipped or failed, as a stable code (`opted_out`, `gave_up`, ...); "
        "null when the text is the provider's own answer.",
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "recipient_external_id",
            "status",
            "content",
            "provider_response",
            "error",
            "error_code",
            "sent_at",
        ]


class TestSendSerializer(serializers.ModelSerializer):
    """A test send of a campaign, with one delivery per recipient."""

    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, default=None, read_only=True
    )
    deliveries = TestDeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "status", "content", "created_by", "created_at", "deliveries"]
