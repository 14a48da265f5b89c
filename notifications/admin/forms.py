"""Admin forms: each turns the domain's checks into field errors staff can act on."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.services import (
    campaign_audiences_errors,
    campaign_caps_errors,
    campaign_errors,
)
from notifications.content.checks import message_template_errors
from notifications.content.rendering import TEMPLATE_FIELDS
from notifications.errors import InvalidInput
from notifications.formats import number_text
from notifications.recipients.attributes import attributes_typed
from notifications.recipients.validators import (
    clean_address,
    clean_addresses_free,
    clean_phone,
    clean_time_zone,
)

from ..models import (
    Address,
    Audience,
    Campaign,
    MessageTemplate,
    Recipient,
    RecipientAttribute,
    SendingRules,
)
from .base import age_text
from .timezones import ZonedDateTimeField
from .window_fields import (
    WINDOW_WIDGETS,
    WeekdaysField,
    clean_window,
    window_fields_optional,
)

# A registered attribute's form field is named after it with this prefix, so no attribute
# name can clash with one of the recipient's own fields.
ATTRIBUTE_FIELD_PREFIX = "attribute__"


def attribute_field(attribute: RecipientAttribute) -> forms.Field:
    """The form field that edits `attribute`'s value: empty means no value."""
    label, help_text = str(attribute), f"{attribute.name} ({attribute.get_type_display()})"
    options = {"required": False, "label": label, "help_text": help_text}
    if attribute.type == RecipientAttribute.Type.NUMBER:
        return forms.DecimalField(**options)
    if attribute.type == RecipientAttribute.Type.DATE:
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **options
        )
    if attribute.type == RecipientAttribute.Type.BOOLEAN:
        widget = forms.NullBooleanSelect()
        widget.choices = [("unknown", "—"), ("true", gettext("Yes")), ("false", gettext("No"))]
        return forms.NullBooleanField(widget=widget, **options)
    return forms.CharField(**options)


def _stored(value: Any) -> Any:
    """A form field's value as the attribute services take it (they type it again)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class RecipientForm(forms.ModelForm):
    """A recipient: the phone normalised, one typed field per registered attribute, and the
    static audiences they are a member of.

    Of the attributes, only the fields staff changed are written: an empty one removes the
    value, and values of names not in the registry stay as they are. `cleaned_data` holds
    `attributes` (the recipient's whole new set) only when one changed.
    """

    audiences = forms.ModelMultipleChoiceField(
        queryset=Audience.objects.filter(kind=Audience.Kind.STATIC),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        label=_("Audiences"),
        help_text=_("Static audiences only: a segment's members follow its rules."),
    )

    # False for staff who may not change audiences: the field is shown, not edited.
    may_change_audiences = True

    class Meta:
        model = Recipient
        fields = ["external_id", "phone", "first_name", "last_name", "timezone", "opted_out_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.attributes or {}
        self.attribute_names: dict[str, str] = {}
        for attribute in RecipientAttribute.objects.all():
            field_name = ATTRIBUTE_FIELD_PREFIX + attribute.name
            self.fields[field_name] = attribute_field(attribute)
            self.fields[field_name].show_hidden_initial = True
            self.initial.setdefault(field_name, stored.get(attribute.name))
            self.attribute_names[field_name] = attribute.name
        audiences = self.fields["audiences"]
        audiences.show_hidden_initial = True
        if self.instance.pk:
            self.initial.setdefault(
                "audiences", list(self.instance.audiences.values_list("pk", flat=True))
            )
        audiences.disabled = not self.may_change_audiences

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"]
        return clean_phone(phone) if phone else ""

    def clean_timezone(self) -> str:
        return clean_time_zone(self.cleaned_data["timezone"])

    def clean(self) -> dict:
        cleaned = super().clean()
        changed = [name for name in self.changed_data if name in self.attribute_names]
        if not changed or any(name in self.errors for name in changed):
            return cleaned
        attributes = dict(self.instance.attributes or {})
        for field_name in changed:
            name, value = self.attribute_names[field_name], cleaned.get(field_name)
            if value in (None, ""):
                attributes.pop(name, None)
            else:
                attributes[name] = _stored(value)
        try:
            # The check recipient_save makes again, here so a value it refuses is a form error.
            cleaned["attributes"] = attributes_typed(attributes)
        except InvalidInput as exc:
            self.add_error(None, str(exc))
        return cleaned


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
    """A campaign with a template its channel can send, Sendios ids given in pairs, a send
    window that can open, and frequency caps turned off only by staff who may dispatch."""

    window_days = WeekdaysField(label=_("Window days"), show_hidden_initial=True)
    # Whether the person may dispatch campaigns, set by the admin for each request.
    may_dispatch = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The model allows none for API messages with literal content; staff always choose one.
        if "template" in self.fields:
            self.fields["template"].required = True
        window_fields_optional(self)

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
            "window_on",
            "window_start",
            "window_end",
            "window_days",
            "caps_on",
            "capped_action",
        ]
        widgets = WINDOW_WIDGETS

    def clean(self) -> dict:
        cleaned = super().clean()
        clean_window(self, cleaned)
        if "caps_on" in self.fields:
            caps = campaign_caps_errors(
                caps_on=cleaned.get("caps_on", self.instance.caps_on),
                were_on=self.instance.caps_on,
                may_dispatch=self.may_dispatch,
            )
            for message in caps.get("caps_on", []):
                self.add_error("caps_on", message)
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


class StaticAudienceChoiceForm(forms.Form):
    """A static audience: an existing one, or the name of a new one (where `new_audience` is
    offered); never both."""

    audience = forms.ModelChoiceField(
        queryset=Audience.objects.filter(kind=Audience.Kind.STATIC),
        required=False,
        label=_("Audience"),
        help_text=_("Static audiences only: a segment's members follow its rules."),
    )
    new_audience = forms.CharField(
        required=False,
        max_length=200,
        label=_("New audience"),
        help_text=_("...or create a new audience with this name."),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if "new_audience" not in self.fields:
            return cleaned
        audience, new_name = cleaned.get("audience"), (cleaned.get("new_audience") or "").strip()
        if audience and new_name:
            raise ValidationError(gettext("Choose an audience or name a new one, not both."))
        if not audience and not new_name and not self.has_error("audience"):
            raise ValidationError(gettext("Choose an audience or name a new one."))
        taken = Audience.objects.filter(name=new_name).first() if new_name else None
        if taken is not None and taken.kind == Audience.Kind.SEGMENT:
            self.add_error(
                "new_audience",
                gettext("'%(name)s' is a segment: name another audience.") % {"name": new_name},
            )
        elif taken is not None:
            self.add_error(
                "new_audience",
                gettext("An audience named '%(name)s' exists; choose it.") % {"name": new_name},
            )
        cleaned["new_audience"] = new_name
        return cleaned


class RecipientImportForm(StaticAudienceChoiceForm):
    """A CSV of recipients and the static audience they join."""

    file = forms.FileField(
        label=_("File"), help_text=_("CSV, UTF-8, with a header row that has external_id.")
    )
    field_order = ["file", "audience", "new_audience"]


class AudienceMembershipForm(StaticAudienceChoiceForm):
    """The static audience a list action adds recipients to or removes them from; when adding,
    a new audience's name instead (for staff who may create audiences)."""

    def __init__(self, *args: Any, may_create: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_create:
            del self.fields["new_audience"]
            self.fields["audience"].required = True


def audience_choice_label(audience: Audience) -> str:
    """An audience as the campaign form offers it, with its kept size (never counted here):
    'Buyers (12,345 people)', 'Lapsed (segment, ≈ 12,345, counted 5 min ago)'."""
    if audience.kind == Audience.Kind.SEGMENT:
        if audience.size_counted_at is None:
            return gettext("%(name)s (segment, not counted yet)") % {"name": audience.name}
        return gettext("%(name)s (segment, ≈ %(size)s, counted %(age)s)") % {
            "name": audience.name,
            "size": number_text(audience.size),
            "age": age_text(audience.size_counted_at),
        }
    return ngettext("%(name)s (%(count)s person)", "%(name)s (%(count)s people)", audience.size) % {
        "name": audience.name,
        "count": number_text(audience.size),
    }


class CampaignAdminForm(CampaignForm):
    """The campaign form with the audiences to exclude, none of which may also be included,
    and the time to send at picked in the person's own time zone."""

    scheduled_at = ZonedDateTimeField(
        label=_("Send at"),
        required=False,
        show_hidden_initial=True,
        help_text=_("Empty to send when dispatched; a time here makes Dispatch schedule it."),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if "excluded_audiences" in self.fields:
            errors = campaign_audiences_errors(
                audiences=cleaned.get("audiences") or [],
                excluded_audiences=cleaned.get("excluded_audiences") or [],
            )
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned


class SendingRulesForm(forms.ModelForm):
    """The site's sending rules: a zone this system knows and a window that can open."""

    window_days = WeekdaysField(label=_("Window days"), show_hidden_initial=True)

    class Meta:
        model = SendingRules
        fields = ["time_zone", "window_on", "window_start", "window_end", "window_days"]
        widgets = WINDOW_WIDGETS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        window_fields_optional(self)

    def clean_time_zone(self) -> str:
        return clean_time_zone(self.cleaned_data["time_zone"])

    def clean(self) -> dict:
        cleaned = super().clean()
        clean_window(self, cleaned)
        return cleaned
