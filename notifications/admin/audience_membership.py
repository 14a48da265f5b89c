"""Adding the recipients a list selects (or all that match its filters and search) to a static
audience, or removing them: the two list actions, the page that counts whom they concern and
asks for the audience, and what they say when done (`AudienceMembershipMixin`, mixed into the
recipients' admin).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.audiences.services import (
    audience_members_add,
    audience_members_remove,
    audience_save,
)
from notifications.errors import InvalidInput
from notifications.formats import number_text

from ..models import Audience
from .forms import AudienceMembershipForm


def _added_text(added: int, audience: Audience, already: int) -> str:
    """'Added 12 to 'Buyers' (1 was a member already).'"""
    return ngettext(
        "Added %(added)s to '%(audience)s' (%(already)s was a member already).",
        "Added %(added)s to '%(audience)s' (%(already)s were members already).",
        already,
    ) % {"added": number_text(added), "audience": audience, "already": number_text(already)}


def _removed_text(removed: int, audience: Audience, outside: int) -> str:
    """'Removed 12 from 'Buyers' (34 were not members).'"""
    return ngettext(
        "Removed %(removed)s from '%(audience)s' (%(outside)s was not a member).",
        "Removed %(removed)s from '%(audience)s' (%(outside)s were not members).",
        outside,
    ) % {"removed": number_text(removed), "audience": audience, "outside": number_text(outside)}


class AudienceMembershipMixin:
    """The recipient list's actions "Add to audience…" and "Remove from audience…", behind the
    `change_audience` permission; on confirmation, one statement adds or removes them all."""

    def has_change_audience_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_audience")

    @admin.action(description=_("Add to audience…"), permissions=["change_audience"])
    def add_to_audience(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._membership(request, queryset, adding=True)

    @admin.action(description=_("Remove from audience…"), permissions=["change_audience"])
    def remove_from_audience(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._membership(request, queryset, adding=False)

    def _membership(
        self, request: HttpRequest, queryset: QuerySet, *, adding: bool
    ) -> HttpResponse | None:
        """A page that counts the recipients concerned and asks for the audience; on its
        confirmation, one statement adds or removes them all.

        With Django's "select all", `queryset` is the list's whole filtered and searched
        queryset (the page posts back to the list's own address, query string included).
        """
        may_create = adding and request.user.has_perm("notifications.add_audience")
        form = AudienceMembershipForm(may_create=may_create)
        if request.POST.get("confirmed") == "yes":
            form = AudienceMembershipForm(request.POST, may_create=may_create)
            if form.is_valid():
                try:
                    self._membership_change(request, queryset, form.cleaned_data, adding)
                except InvalidInput as exc:
                    field = "new_audience" if "name" in exc.error_dict else None
                    form.add_error(field, str(exc))
                else:
                    return None
        count = queryset.count()
        across = request.POST.get("select_across") == "1"
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Add recipients to an audience")
            if adding
            else gettext("Remove recipients from an audience"),
            "opts": self.model._meta,
            "concerned": _concerned_text(count, adding=adding, across=across),
            "confirm": gettext("Yes, add them") if adding else gettext("Yes, remove them"),
            "form": form,
            "action": request.POST.get("action", ""),
            "select_across": "1" if across else "0",
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cl_query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/notifications/recipient/membership.html", context)

    def _membership_change(
        self, request: HttpRequest, queryset: QuerySet, choice: dict, adding: bool
    ) -> None:
        with transaction.atomic():
            audience = choice["audience"]
            if audience is None:
                audience = audience_save(audience=None, data={"name": choice["new_audience"]})
            concerned = queryset.count()
            if adding:
                added = audience_members_add(audience=audience, recipients=queryset)
                text = _added_text(added, audience, concerned - added)
            else:
                removed = audience_members_remove(audience=audience, recipients=queryset)
                text = _removed_text(removed, audience, concerned - removed)
        self.message_user(request, text, messages.SUCCESS)


def _concerned_text(count: int, *, adding: bool, across: bool) -> str:
    """Whom a membership change concerns, as the confirmation page says it:
    'Add 1 recipient selected to this audience:',
    'Remove 34 recipients matching your filters and search from this audience:'."""
    numbers = {"count": number_text(count)}
    if adding and across:
        return (
            ngettext(
                "Add %(count)s recipient matching your filters and search to this audience:",
                "Add %(count)s recipients matching your filters and search to this audience:",
                count,
            )
            % numbers
        )
    if adding:
        return (
            ngettext(
                "Add %(count)s recipient selected to this audience:",
                "Add %(count)s recipients selected to this audience:",
                count,
            )
            % numbers
        )
    if across:
        return (
            ngettext(
                "Remove %(count)s recipient matching your filters and search from this audience:",
                "Remove %(count)s recipients matching your filters and search from this audience:",
                count,
            )
            % numbers
        )
    return (
        ngettext(
            "Remove %(count)s recipient selected from this audience:",
            "Remove %(count)s recipients selected from this audience:",
            count,
        )
        % numbers
    )
