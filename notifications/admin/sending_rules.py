"""The site's sending rules: one page for the one row (no list, no add, no delete), changed by
those with its change permission, through `campaigns.sending_rules.sending_rules_save`."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.sending_rules import (
    WINDOW_FIELDS,
    sending_rules,
    sending_rules_save,
)
from notifications.staff import offered_time_zones

from ..models import SendingRules
from .base import ThroughServicesAdmin, changed_values
from .forms import SendingRulesForm


@admin.register(SendingRules)
class SendingRulesAdmin(ThroughServicesAdmin):
    """The rules' own page; the list, reached from the admin's settings group, leads to it."""

    form = SendingRulesForm
    actions = []
    readonly_fields = ["updated_by", "updated_at"]
    fieldsets = [
        (None, {"fields": ["time_zone"]}),
        (
            _("Default send window of new campaigns"),
            {
                "fields": list(WINDOW_FIELDS),
                "description": _(
                    "New marketing campaigns start with this window, in each recipient's local "
                    "time; each campaign can change its own. API messages go out at any hour "
                    "unless they ask for it. Campaigns made before a change keep theirs."
                ),
            },
        ),
        (None, {"fields": ["updated_by", "updated_at"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:notifications_sendingrules_change", sending_rules().pk)

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # The page may be the first to read the rules: it makes them, as every reader does.
        sending_rules()
        return super().get_object(request, object_id, from_field)

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "time_zone":
            # The zones a person picks from, and the stored one should it not be among them.
            current = sending_rules().time_zone
            names = offered_time_zones()
            names = names if current in names else (current, *names)
            kwargs["widget"] = forms.Select(
                choices=[(name, name.replace("_", " ")) for name in names]
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: SendingRules, form, change: bool) -> None:
        sending_rules_save(data=changed_values(form, change), user=request.user)

    def delete_through_service(self, obj: SendingRules) -> None:
        raise PermissionDenied
