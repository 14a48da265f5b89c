"""Admin forms: each turns the domain's checks into field errors staff can act on."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from notifications.campaigns.services import campaign_errors
from notifications.content.checks import message_template_errors
from notifications.content.rendering import TEMPLATE_FIELDS
from notifications.recipients.validators import (
    clean_address,
    clean_addresses_free,
    clean_attributes,
    clean_phone,
)

from ..models import Address, Audience, Campaign, MessageTemplate, Recipient


class AttributesJSONField(forms.JSONField):
    """JSON as Django edits it, shown again safely when the form comes back with an error."""

    def prepare_value(self, value: Any) -> str:
        # JSON's "\ud800" decodes to half a surrogate pair, which a UTF-8 page cannot hold;
        # written back as the same escape, the person sees what they typed.
        return super().prepare_value(value).encode("utf-8", "backslashreplace").decode()


class RecipientForm(forms.ModelForm):
    """A recipient: the phone normalised, attributes usable as template variables."""

    class Meta:
        model = Recipient
        fields = ["external_id", "phone", "first_name", "last_name", "attributes", "opted_out_at"]
        field_classes = {"attributes": AttributesJSONField}

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"]
        return clean_phone(phone) if phone else ""

    def clean_attributes(self) -> dict:
        attributes = self.cleaned_data["attributes"]
        if attributes is None:
            return {}
        if not isinstance(attributes, dict):
            raise ValidationError('Attributes must be a JSON object, such as {"city": "Kazan"}.')
        return clean_attributes(attributes)


class AddressForm(forms.ModelForm):
    """An address, checked and normalised for its channel, that no other recipient holds."""

    class Meta:
        model = Address
        fields = ["channel", "value"]

    def clean(self) -> dict:
        cleaned = super().clean()
        channel, value = cleaned.get("channel"), cleaned.get("value")
        if channel and value:
            try:
                cleaned["value"] = clean_address(channel, value)
                clean_addresses_free(
                    {channel: cleaned["value"]}, recipient_id=self.instance.recipient_id
                )
            except ValidationError as exc:
                self.add_error("value", exc)
        return cleaned


class MessageTemplateForm(forms.ModelForm):
    """A template whose fields compile, and which the draft campaigns using it can still send."""

    class Meta:
        model = MessageTemplate
        fields = ["name", *TEMPLATE_FIELDS]
        widgets = {"body": forms.Textarea(attrs={"rows": 6, "cols": 80})}

    def clean(self) -> dict:
        cleaned = super().clean()
        fields = {name: cleaned.get(name) or "" for name in TEMPLATE_FIELDS}
        for field, messages in message_template_errors(fields, template=self.instance).items():
            for message in messages:
                self.add_error(field, message)
        return cleaned


class CampaignForm(forms.ModelForm):
    """A campaign with a template its channel can send and Sendios ids given in pairs."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The model allows none for API messages with literal content; staff always choose one.
        if "template" in self.fields:
            self.fields["template"].required = True

    class Meta:
        model = Campaign
        fields = [
            "name",
            "channel",
            "template",
            "audiences",
            "scheduled_at",
            "sendios_project_id",
            "sendios_template_id",
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        errors = campaign_errors(
            channel=cleaned.get("channel"),
            template=cleaned.get("template"),
            sendios_project_id=cleaned.get("sendios_project_id"),
            sendios_template_id=cleaned.get("sendios_template_id"),
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field, message)
        return cleaned


class RecipientImportForm(forms.Form):
    """A CSV of recipients and the audience they join: an existing one or a new name."""

    file = forms.FileField(help_text="CSV, UTF-8, with a header row that has external_id.")
    audience = forms.ModelChoiceField(
        queryset=Audience.objects.all(), required=False, help_text="Add everyone to this audience."
    )
    new_audience = forms.CharField(
        required=False, max_length=200, help_text="...or create a new audience with this name."
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        audience, new_name = cleaned.get("audience"), (cleaned.get("new_audience") or "").strip()
        if audience and new_name:
            raise ValidationError("Choose an audience or name a new one, not both.")
        if not audience and not new_name:
            raise ValidationError("Choose an audience or name a new one.")
        if new_name and Audience.objects.filter(name=new_name).exists():
            self.add_error("new_audience", f"An audience named '{new_name}' exists; choose it.")
        cleaned["new_audience"] = new_name
        return cleaned
