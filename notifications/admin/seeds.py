"""The test lists' admin: the people a member of staff sends test messages to in one click,
their own and the shared list, added and removed through `recipients/seeds.py`.

Anyone who may see recipients keeps their own list; only staff with the test recipient's add
or delete permission change the shared one.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.recipients.seeds import seed_recipients_add, seed_recipients_remove

from ..models import Channel, Recipient, SeedRecipient
from ..providers.registry import provider_class
from .base import ThroughServicesAdmin

MINE, EVERYONE = "me", "everyone"


def reach_channels(recipient: Recipient) -> list[str]:
    """The channels a recipient can get messages on: where they have an address, and where
    their external_id serves as one. Reads `recipient.addresses` (prefetch it for a list)."""
    with_address = {address.channel for address in recipient.addresses.all()}
    return [
        str(label)
        for channel, label in Channel.choices
        if channel in with_address or provider_class(channel).external_id_is_default_address
    ]


class SeedRecipientForm(forms.ModelForm):
    """Whom to put on a test list, and on whose."""

    whose = forms.ChoiceField(
        label=_("On the test list of"),
        choices=[(MINE, _("Only me")), (EVERYONE, _("Everyone"))],
        initial=MINE,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = SeedRecipient
        fields = ["recipient"]

    def validate_unique(self) -> None:
        """Someone already on the list is no error: the service keeps them and says so."""


@admin.register(SeedRecipient)
class SeedRecipientAdmin(ThroughServicesAdmin):
    """Test recipients: the user's own and the shared ones, each with the channels they can
    get a test on."""

    form = SeedRecipientForm
    list_display = ["person", "external_id", "channels", "whose_list", "added_at"]
    list_select_related = ["recipient"]
    search_fields = ["=recipient__external_id", "recipient__last_name"]
    autocomplete_fields = ["recipient"]

    # --- Who may do what: their own list with view_recipient, the shared one by permission.

    def _sees_recipients(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.view_recipient")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._sees_recipients(request)

    def has_view_permission(self, request: HttpRequest, obj: SeedRecipient | None = None) -> bool:
        return self._sees_recipients(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._sees_recipients(request)

    def has_change_permission(self, request: HttpRequest, obj: SeedRecipient | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SeedRecipient | None = None) -> bool:
        if not self._sees_recipients(request):
            return False
        if obj is not None and obj.owner_id is None:
            return self.may_change_shared(request, "delete")
        return obj is None or obj.owner_id == request.user.pk

    def may_change_shared(self, request: HttpRequest, verb: str) -> bool:
        return request.user.has_perm(f"notifications.{verb}_seedrecipient")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .filter(Q(owner=request.user) | Q(owner__isnull=True))
            .prefetch_related("recipient__addresses")
        )

    def get_form(self, request: HttpRequest, obj: SeedRecipient | None = None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not self.may_change_shared(request, "add") and "whose" in form.base_fields:
            # A field of its own: the declared one is shared by every form class made here.
            whose = copy.deepcopy(form.base_fields["whose"])
            whose.choices = [(MINE, gettext("Only me"))]
            whose.help_text = gettext(
                "Only staff allowed to change the shared test list may add to it."
            )
            form.base_fields["whose"] = whose
        return form

    def get_fields(self, request: HttpRequest, obj: SeedRecipient | None = None) -> list[str]:
        return ["recipient", "whose"] if obj is None else ["recipient", "owner", "added_at"]

    # --- Writes through the services. ------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: SeedRecipient, form, change: bool) -> None:
        owner = None if form.cleaned_data["whose"] == EVERYONE else request.user
        added = seed_recipients_add(
            recipients=Recipient.objects.filter(pk=obj.recipient_id), owner=owner
        )
        if owner is None:
            text = (
                gettext("Added %(recipient)s to the shared test list.")
                if added
                else gettext("%(recipient)s was already on the shared test list.")
            )
        else:
            text = (
                gettext("Added %(recipient)s to your test list.")
                if added
                else gettext("%(recipient)s was already on your test list.")
            )
        obj.added_text = text % {"recipient": obj.recipient}
        # The admin's log entry names the row the service wrote (or kept).
        row = SeedRecipient.objects.get(recipient_id=obj.recipient_id, owner=owner)
        obj.pk, obj.owner, obj._state.adding = row.pk, owner, False

    def response_add(self, request: HttpRequest, obj: SeedRecipient, post_url_continue=None):
        self.message_user(request, obj.added_text, messages.SUCCESS)
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:notifications_seedrecipient_changelist"))

    def delete_through_service(self, obj: SeedRecipient) -> None:
        seed_recipients_remove(
            recipients=Recipient.objects.filter(pk=obj.recipient_id), owner=obj.owner
        )

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id) -> HttpResponse:
        self.message_user(request, gettext("Taken off the test list."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:notifications_seedrecipient_changelist"))

    # --- Columns. ---------------------------------------------------------------------------

    @admin.display(description=_("Name"), ordering="recipient__last_name")
    def person(self, obj: SeedRecipient) -> str:
        recipient = obj.recipient
        return f"{recipient.first_name} {recipient.last_name}".strip() or "—"

    @admin.display(description=_("External id"), ordering="recipient__external_id")
    def external_id(self, obj: SeedRecipient) -> str:
        return obj.recipient.external_id

    @admin.display(description=_("Can get tests on"))
    def channels(self, obj: SeedRecipient) -> str:
        return ", ".join(reach_channels(obj.recipient)) or "—"

    @admin.display(description=_("List"), ordering="owner")
    def whose_list(self, obj: SeedRecipient) -> str:
        return gettext("Everyone's") if obj.owner_id is None else gettext("Mine")
