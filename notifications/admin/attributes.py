"""The attribute registry's admin: each attribute's name, label and type.

A new type converts every recipient's stored value of the attribute, or is refused beside the
type field naming recipients whose values do not convert (`recipient_attribute_save`). The name
is what templates and segment rules refer to, so it is fixed once the attribute exists.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.errors import InvalidInput
from notifications.formats import number_text
from notifications.recipients.attributes import (
    recipient_attribute_delete,
    recipient_attribute_save,
)
from notifications.recipients.validators import clean_attribute_name

from ..models import Recipient, RecipientAttribute
from .base import ThroughServicesAdmin, changed_values, refusal_on_form


class SavedByServiceForm(forms.ModelForm):
    """A model form whose last check is its service's save.

    Django's admin saves after the form is valid and offers no way back to the form when the
    save is refused, so a refusal that depends on the rows (a type the stored values do not
    convert to) could only show above the form. Saving as the form's last step puts the
    service's InvalidInput beside the field it names, and nothing is saved; the admin's own
    save then has nothing left to do (see `save_model` of the admins using this form).
    """

    def save_through_service(self, instance: Model | None, data: dict[str, Any]) -> Model:
        """Save `data` through the service: `instance` None for a new object."""
        raise NotImplementedError

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or self._errors:
            return
        change = not self.instance._state.adding
        try:
            saved = self.save_through_service(
                self.instance if change else None, changed_values(self, change)
            )
        except InvalidInput as exc:
            refusal_on_form(self, exc)
        else:
            self.instance = saved


class RecipientAttributeForm(SavedByServiceForm):
    """An attribute's label and type; its name when it is made."""

    class Meta:
        model = RecipientAttribute
        fields = ["name", "label", "type"]

    def clean_name(self) -> str:
        return clean_attribute_name(self.cleaned_data["name"])

    def save_through_service(
        self, instance: RecipientAttribute | None, data: dict[str, Any]
    ) -> RecipientAttribute:
        return recipient_attribute_save(attribute=instance, data=data)


@admin.register(RecipientAttribute)
class RecipientAttributeAdmin(ThroughServicesAdmin):
    """The registry of recipient attributes that templates and segments use."""

    form = RecipientAttributeForm
    list_display = ["name", "label", "type"]
    list_filter = ["type"]
    search_fields = ["name", "label"]

    def get_fields(self, request: HttpRequest, obj: RecipientAttribute | None = None) -> list:
        return ["name", "label", "type", *(["holders"] if obj else [])]

    def get_readonly_fields(
        self, request: HttpRequest, obj: RecipientAttribute | None = None
    ) -> list[str]:
        # Templates and segment rules refer to an attribute by its name.
        return ["name", "holders"] if obj else []

    def save_model(self, request: HttpRequest, obj: RecipientAttribute, form, change: bool) -> None:
        """Saved already: the form's last check was the save (SavedByServiceForm)."""

    def delete_through_service(self, obj: RecipientAttribute) -> None:
        recipient_attribute_delete(attribute=obj)

    @admin.display(description=_("Recipients with a value"))
    def holders(self, obj: RecipientAttribute) -> str:
        count = Recipient.objects.filter(attributes__has_key=obj.name).count()
        if not count:
            return gettext("None: the attribute may be deleted.")
        return ngettext(
            "%(count)s: the attribute cannot be deleted while a recipient has a value.",
            "%(count)s: the attribute cannot be deleted while any recipient has a value.",
            count,
        ) % {"count": number_text(count)}
