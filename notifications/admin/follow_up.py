"""Follow-up audiences from a campaign: "the 54 who failed" as a static audience, counted
before staff confirm it, made in one statement (`audience_follow_up_create`).

The campaign's page and funnel link here through `follow_up_url`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.views import View

from notifications.audiences.follow_up import (
    Outcome,
    audience_follow_up_create,
    follow_up_name,
    follow_up_people,
)
from notifications.errors import InvalidInput
from notifications.formats import number_text

from ..models import Audience, Campaign


def follow_up_url(campaign_id: int, outcome: str) -> str:
    """The page that makes a follow-up audience of `campaign_id`'s recipients with `outcome`
    (one of `Outcome`)."""
    return reverse("admin:notifications_campaign_follow_up", args=[campaign_id, outcome])


class FollowUpForm(forms.Form):
    """The new audience's name."""

    name = forms.CharField(
        label=pgettext_lazy("audience", "Name"),
        max_length=Audience._meta.get_field("name").max_length,
    )


class FollowUpView(View):
    """GET counts the recipients and offers a name; POST makes the audience and opens it.

    Staff need to see the campaign and to add and change audiences.
    """

    admin_site: admin.AdminSite = admin.site

    def dispatch(self, request: HttpRequest, campaign_id: int, outcome: str) -> HttpResponse:
        user = request.user
        may_view = user.has_perm("notifications.view_campaign") or user.has_perm(
            "notifications.change_campaign"
        )
        if not (
            may_view
            and user.has_perm("notifications.add_audience")
            and user.has_perm("notifications.change_audience")
        ):
            raise PermissionDenied
        if outcome not in Outcome.values:
            raise Http404(f"{outcome!r} is not a follow-up outcome.")
        self.campaign = get_object_or_404(Campaign, pk=campaign_id)
        self.outcome = Outcome(outcome)
        return super().dispatch(request)

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"name": follow_up_name(campaign=self.campaign, outcome=self.outcome)}
        return self._page(request, FollowUpForm(initial=initial))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = FollowUpForm(request.POST)
        if not form.is_valid():
            return self._page(request, form)
        try:
            audience = audience_follow_up_create(
                campaign=self.campaign, outcome=self.outcome, name=form.cleaned_data["name"]
            )
        except InvalidInput as exc:
            form.add_error("name", str(exc))
            return self._page(request, form)
        made = ngettext(
            "Audience '%(name)s' made with %(count)s recipient.",
            "Audience '%(name)s' made with %(count)s recipients.",
            audience.size,
        ) % {"name": audience.name, "count": number_text(audience.size)}
        messages.success(request, made)
        return redirect("admin:notifications_audience_change", audience.pk)

    def _page(self, request: HttpRequest, form: FollowUpForm) -> TemplateResponse:
        count = follow_up_people(campaign=self.campaign, outcome=self.outcome).count()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("New audience from campaign %(name)s") % {"name": self.campaign.name},
            "opts": Campaign._meta,
            "campaign": self.campaign,
            "outcome": self.outcome,
            "count": count,
            "form": form,
        }
        return TemplateResponse(request, "admin/notifications/follow_up.html", context)
