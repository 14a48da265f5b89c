"""Request and answer shapes of the API, and the same checks the admin forms make.

Serializers validate and describe; they never save. Views hand the validated data to a service.
Every request serializer refuses fields it does not know, so a misspelt field is an error rather
than silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from notifications.content.checks import channel_template_errors, template_errors
from notifications.content.rendering import TEMPLATE_FIELDS, template_fields
from notifications.recipients.selectors import recipient_attribute_names
from notifications.recipients.validators import clean_address, clean_attributes, clean_phone

from ..models import (
    Address,
    Audience,
    Campaign,
    Channel,
    Delivery,
    DeliveryEvent,
    MessageTemplate,
    Recipient,
)

MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_VALUE = 1000
MAX_TEXT = 10_000
MAX_BATCH = settings.API_MAX_BATCH

# The largest id a row can have (64-bit keys); a larger number names nothing and would
# overflow the database driver.
MAX_ID = 2**63 - 1


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare (with every other error of the same request)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {
                name: ["This field is not accepted here."]
                for name in sorted(set(data) - set(self.fields))
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    """A model serializer that refuses unknown fields."""


def _django_errors(exc: DjangoValidationError) -> list[str]:
    return list(exc.messages)


class AttributesField(serializers.DictField):
    """Template variables: names usable in `{{ name }}`, plain values, a bounded number."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attributes = super().to_internal_value(data)
        if len(attributes) > MAX_ATTRIBUTES:
            raise serializers.ValidationError(f"At most {MAX_ATTRIBUTES} attributes.")
        try:
            clean_attributes(attributes)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_django_errors(exc)) from None
        for name, value in attributes.items():
            if isinstance(value, dict | list):
                raise serializers.ValidationError(
                    f"Attribute '{name}' must be text, a number, true/false or null."
                )
            if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_VALUE:
                raise serializers.ValidationError(
                    f"Attribute '{name}' is longer than {MAX_ATTRIBUTE_VALUE} characters."
                )
        return attributes


class AddressesField(serializers.DictField):
    """A recipient's address per channel: `{"leadconverter": "1001", ...}`."""

    child = serializers.CharField(max_length=255)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        addresses = super().to_internal_value(data)
        cleaned = {}
        for channel, value in addresses.items():
            if channel not in Channel.values:
                raise serializers.ValidationError(
                    f"'{channel}' is not a channel; use one of {', '.join(Channel.values)}."
                )
            try:
                cleaned[channel] = clean_address(channel, value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(_django_errors(exc)) from None
        return cleaned

    def to_representation(self, value: Any) -> dict[str, str]:
        return {address.channel: address.value for address in value.all()}


def _clean_phone(value: str) -> str:
    if not value:
        return ""
    try:
        return clean_phone(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(_django_errors(exc)) from None


# --- Recipients -----------------------------------------------------------------------------


class RecipientSerializer(StrictModelSerializer):
    """One recipient with their addresses; `audiences` lists the ids they belong to."""

    attributes = AttributesField(required=False)
    addresses = AddressesField(required=False)
    audiences = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Recipient
        fields = [
            "id",
            "external_id",
            "phone",
            "first_name",
            "last_name",
            "attributes",
            "addresses",
            "opted_out_at",
            "audiences",
            "created_at",
            "updated_at",
        ]

    def validate_phone(self, value: str) -> str:
        return _clean_phone(value)

    def validate_addresses(self, addresses: dict[str, str]) -> dict[str, str]:
        for channel, value in addresses.items():
            taken = Address.objects.filter(channel=channel, value=value)
            if self.instance is not None:
                taken = taken.exclude(recipient=self.instance)
            owner = taken.values_list("recipient__external_id", flat=True).first()
            if owner is not None:
                raise serializers.ValidationError(
                    f"{channel} address {value} already belongs to recipient '{owner}'."
                )
        return addresses


class RecipientFilterSerializer(serializers.Serializer):
    """Query parameters of the recipient list."""

    external_id = serializers.CharField(required=False, max_length=255)
    phone = serializers.CharField(required=False, max_length=32)
    audience = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    opted_out = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False, max_length=255)


class BulkRecipientItemSerializer(StrictSerializer):
    """One recipient of a bulk upsert; empty values leave stored ones unchanged."""

    external_id = serializers.CharField(max_length=255)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    addresses = AddressesField(required=False)
    attributes = AttributesField(required=False)

    def validate_phone(self, value: str) -> str:
        return _clean_phone(value)


class BulkRecipientsSerializer(StrictSerializer):
    """Up to `API_MAX_BATCH` recipients to create or update, optionally into an audience."""

    audience = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(), required=False, allow_null=True
    )
    # Items are checked one by one afterwards, so one bad item cannot refuse the others.
    recipients = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH
    )


class BulkRecipientsDocSerializer(BulkRecipientsSerializer):
    """The bulk request as documented: the same, with the item shape spelled out."""

    recipients = BulkRecipientItemSerializer(many=True)


class BulkResultSerializer(serializers.Serializer):
    """What happened to one item of a bulk upsert."""

    index = serializers.IntegerField()
    external_id = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated", "rejected"])
    reason = serializers.CharField()


class BulkAnswerSerializer(serializers.Serializer):
    """Counts and the per-item outcome of a bulk upsert."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BulkResultSerializer(many=True)


# --- Templates ------------------------------------------------------------------------------


class AudienceSerializer(StrictModelSerializer):
    """A named set of recipients; members change through `members/`."""

    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Audience
        fields = ["id", "name", "description", "member_count", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembersChangeSerializer(StrictSerializer):
    """Recipients to add to and remove from an audience, by external_id."""

    add = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=1000
    )
    remove = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=1000
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("add") and not attrs.get("remove"):
            raise serializers.ValidationError("Give recipients to add or to remove.")
        return attrs


class MembersChangedSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


class MessageTemplateSerializer(StrictModelSerializer):
    """A message template, checked like the admin checks it."""

    body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)

    class Meta:
        model = MessageTemplate
        fields = ["id", "name", *TEMPLATE_FIELDS, "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = template_fields(self.instance) if self.instance else {}
        fields = {name: attrs.get(name, current.get(name, "")) or "" for name in TEMPLATE_FIELDS}
        errors = template_errors(fields, known_variables=recipient_attribute_names())
        if self.instance is not None:
            # Dispatched campaigns froze their content; drafts must stay sendable.
            drafts = self.instance.campaigns.filter(status=Campaign.Status.DRAFT)
            for channel in sorted(set(drafts.values_list("channel", flat=True))):
                for field, messages in channel_template_errors(channel, fields).items():
                    errors.setdefault(field, []).extend(
                        f"{message} (a draft campaign on this channel uses it)"
                        for message in messages
                    )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PreviewRequestSerializer(StrictSerializer):
    """Whom to render a template for."""

    recipient = serializers.CharField(max_length=255, help_text="The recipient's external_id.")


class ChannelPreviewSerializer(serializers.Serializer):
    """A template rendered for one channel: the content sent, or why it cannot be."""

    content = serializers.DictField(child=serializers.CharField(), allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class PreviewAnswerSerializer(serializers.Serializer):
    """The preview on every channel."""

    imshop = ChannelPreviewSerializer()
    leadconverter = ChannelPreviewSerializer()
    yandex_market = ChannelPreviewSerializer()
    bitrix24 = ChannelPreviewSerializer()


# --- Campaigns ------------------------------------------------------------------------------


class CampaignSerializer(StrictModelSerializer):
    """A campaign; only drafts can be changed."""

    template = serializers.PrimaryKeyRelatedField(queryset=MessageTemplate.objects.all())
    audiences = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(), many=True, required=False
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
            "status",
            "content",
            "scheduled_at",
            "sendios_project_id",
            "sendios_template_id",
            "pause_reason",
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
            "pause_reason",
            "dispatched_at",
            "started_at",
            "finished_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def value(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        channel, template = value("channel"), value("template")
        errors: dict[str, list[str]] = {}
        if channel and template:
            for messages in channel_template_errors(channel, template_fields(template)).values():
                errors.setdefault("template", []).extend(
                    f"'{template}' cannot go out here: {message}" for message in messages
                )
        if (value("sendios_project_id") is None) != (value("sendios_template_id") is None):
            errors["sendios_template_id"] = [
                "Give both the Sendios project id and template id, or neither."
            ]
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


class EmptySerializer(StrictSerializer):
    """No fields: the action takes none."""


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


# --- Transactional messages -----------------------------------------------------------------


class MessageContentSerializer(StrictSerializer):
    """Literal message content, in the template language like a template's fields."""

    title = serializers.CharField(required=False, allow_blank=True, max_length=500)
    body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    deeplink = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    file_uuid = serializers.CharField(required=False, allow_blank=True, max_length=255)
    avatar_url = serializers.CharField(required=False, allow_blank=True, max_length=2048)


class MessageSerializer(StrictSerializer):
    """One message to up to `API_MAX_BATCH` recipients now, from a template or literal content."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=255),
        min_length=1,
        max_length=MAX_BATCH,
        help_text="external_ids",
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=MessageTemplate.objects.all(), required=False, allow_null=True
    )
    content = MessageContentSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        template, content = attrs.get("template"), attrs.get("content")
        if (template is None) == (content is None):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either a template or a content, not both."]}
            )
        source = "template" if template is not None else "content"
        fields = template_fields(template) if template is not None else dict(content)
        fields = {name: fields.get(name) or "" for name in TEMPLATE_FIELDS}
        problems = template_errors(fields, known_variables=recipient_attribute_names())
        for field, messages in channel_template_errors(attrs["channel"], fields).items():
            problems.setdefault(field, []).extend(messages)
        if problems:
            if source == "content":
                raise serializers.ValidationError({"content": problems})
            raise serializers.ValidationError(
                {
                    "template": [
                        f"{field}: {message}"
                        for field, messages in problems.items()
                        for message in messages
                    ]
                }
            )
        wanted = set(attrs["recipients"])
        known = set(
            Recipient.objects.filter(external_id__in=wanted).values_list("external_id", flat=True)
        )
        unknown = sorted(wanted - known)
        if unknown:
            raise serializers.ValidationError(
                {"recipients": ["No recipient has external_id " + ", ".join(unknown) + "."]}
            )
        return attrs


class MessageDeliverySerializer(serializers.ModelSerializer):
    """One delivery of a transactional message."""

    recipient = serializers.CharField(source="recipient.external_id")

    class Meta:
        model = Delivery
        fields = ["id", "recipient", "address", "status", "error"]


class MessageAnswerSerializer(serializers.Serializer):
    """The message accepted: its campaign and one delivery per recipient."""

    campaign = serializers.IntegerField()
    status = serializers.CharField()
    deliveries = MessageDeliverySerializer(many=True)


# --- History --------------------------------------------------------------------------------


class DeliverySerializer(serializers.ModelSerializer):
    """One message of one campaign to one recipient, and where it stands."""

    recipient_external_id = serializers.CharField(source="recipient.external_id")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "campaign",
            "recipient",
            "recipient_external_id",
            "address",
            "status",
            "attempts",
            "next_attempt_at",
            "content",
            "provider_response",
            "error",
            "sent_at",
            "created_at",
            "updated_at",
        ]


class DeliveryEventSerializer(serializers.ModelSerializer):
    """One entry of the append-only history."""

    class Meta:
        model = DeliveryEvent
        fields = [
            "id",
            "type",
            "occurred_at",
            "campaign",
            "delivery",
            "recipient",
            "detail",
            "data",
            "sms_id",
            "link",
            "created_at",
        ]


class HistoryFilterSerializer(serializers.Serializer):
    """Query parameters shared by deliveries and events; the time range is inclusive."""

    campaign = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    recipient = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    recipient_external_id = serializers.CharField(required=False, max_length=255)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class DeliveryFilterSerializer(HistoryFilterSerializer):
    """Query parameters of the delivery list (time range on `updated_at`)."""

    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)


class EventFilterSerializer(HistoryFilterSerializer):
    """Query parameters of the event list (time range on `occurred_at`)."""

    type = serializers.CharField(required=False, max_length=32)
    delivery = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
