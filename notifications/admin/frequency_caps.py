"""The site's frequency caps: a list of the policies ('2 a day on Imshop push') that staff with
the model's permissions add, change, turn on and off and delete, each through
`campaigns.cap_policies`, whose refusals (a limit out of range, a second policy on one channel
and period) show beside their fields."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.campaigns.cap_policies import (
    frequency_cap_delete,
    frequency_cap_save,
)
from notifications.errors import REFUSALS

from ..formats import number_text
from ..models import Channel, FrequencyCap
from .attributes import SavedByServiceForm
from .base import ThroughServicesAdmin


class FrequencyCapForm(SavedByServiceForm):
    """A policy: at most so many messages per rolling day or week, on a channel or on all."""

    # Who is saving, set by the admin for each request: the service records them.
    user: Any = None

    class Meta:
        model = FrequencyCap
        fields = ["limit", "period", "channel", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels together")), *Channel.choices]

    def _post_clean(self) -> None:
        """No model validation here: the model's constraints would refuse above the form
        ("Constraint violated") before the service is asked, and the service makes the same
        checks beside their fields, naming the policy already there (`full_clean`)."""

    def save_through_service(
        self, instance: FrequencyCap | None, data: dict[str, Any]
    ) -> FrequencyCap:
        return frequency_cap_save(
            cap_id=instance.pk if instance else None, data=data, user=self.user
        )


@admin.register(FrequencyCap)
class FrequencyCapAdmin(ThroughServicesAdmin):
    """The policies, each read as a sentence, and who changed it last."""

    form = FrequencyCapForm
    list_display = ["policy", "active", "updated_by", "updated_at"]
    list_display_links = ["policy"]
    list_filter = ["active", "period", "channel"]
    list_select_related = ["updated_by"]
    readonly_fields = ["updated_by", "updated_at"]
    actions = ["delete_selected", "activate_selected", "deactivate_selected"]

    def get_fields(self, request: HttpRequest, obj: FrequencyCap | None = None) -> list[str]:
        fields = ["limit", "period", "channel", "active"]
        return [*fields, "updated_by", "updated_at"] if obj else fields

    def get_form(self, request: HttpRequest, obj: FrequencyCap | None = None, **kwargs: Any):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    @admin.display(description=_("Policy"), ordering="channel")
    def policy(self, obj: FrequencyCap) -> str:
        return obj.describe()

    def save_model(self, request: HttpRequest, obj: FrequencyCap, form, change: bool) -> None:
        """Saved already: the form's last check was the save (SavedByServiceForm)."""

    def delete_through_service(self, obj: FrequencyCap) -> None:
        frequency_cap_delete(cap_id=obj.pk)

    @admin.action(description=_("Turn the selected caps on"), permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description=_("Turn the selected caps off"), permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, active=False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet, *, active: bool) -> None:
        changed = 0
        for cap in queryset.filter(active=not active):
            try:
                frequency_cap_save(cap_id=cap.pk, data={"active": active}, user=request.user)
            except REFUSALS as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                changed += 1
        text = (
            ngettext("%(count)s cap turned on.", "%(count)s caps turned on.", changed)
            if active
            else ngettext("%(count)s cap turned off.", "%(count)s caps turned off.", changed)
        )
        self.message_user(request, text % {"count": number_text(changed)}, messages.SUCCESS)
