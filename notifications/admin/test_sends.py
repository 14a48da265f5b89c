"""Test sends from a campaign's page: the page that sends one to the test list (or to chosen
recipients), the results under the campaign with each person's exact message and the
provider's answer, and the campaign list's kind filter that keeps test sends out of the way.

The send itself is `campaigns.direct.campaign_send_test`; this module only asks and shows.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.actions import Action, campaign_allows, refusal_sentence
from notifications.campaigns.direct import MAX_TEST_RECIPIENTS, campaign_send_test
from notifications.campaigns.selectors import campaign_message
from notifications.errors import REFUSALS
from notifications.reasons import reason_text
from notifications.recipients.seeds import seed_recipients
from notifications.recipients.selectors import Reach, recipients_by_reach

from ..formats import number_text
from ..models import Campaign, CampaignContent, Delivery, Recipient, SeedRecipient
from .base import moment_text, refusal_on_form

# The newest test sends a campaign's page shows; the link under them opens all of them.
TEST_SENDS_SHOWN = 5

# What staff read for each delivery status of a test.
STATUS_TEXT = {
    Delivery.Status.PENDING: pgettext_lazy("deliveries", "Waiting"),
    Delivery.Status.SENDING: _("Being sent"),
    Delivery.Status.SENT: pgettext_lazy("deliveries", "Sent"),
    Delivery.Status.FAILED: pgettext_lazy("deliveries", "Failed"),
    Delivery.Status.SKIPPED: pgettext_lazy("test send", "Not sent"),
    Delivery.Status.UNKNOWN: _("Unknown: the provider did not answer clearly"),
    Delivery.Status.CANCELLED: pgettext_lazy("deliveries", "Cancelled"),
}
UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.SENDING)


class KindFilter(admin.SimpleListFilter):
    """The campaign list shows campaigns; test sends and API messages when chosen.

    Its parameter is the one a plain `kind` filter would use, so links to it keep working.
    """

    title = _("kind")
    parameter_name = "kind__exact"
    ALL = "all"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [*Campaign.Kind.choices, (self.ALL, _("All kinds"))]

    def value(self) -> str:
        return super().value() or Campaign.Kind.CAMPAIGN

    def choices(self, changelist) -> Any:
        # No "All" entry of Django's: with no choice the list shows campaigns, and says so.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(kind=self.value())


class SendTestForm(forms.Form):
    """Whom a test goes to: people of the test list (ticked) and any others chosen."""

    seeds = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    others = forms.ModelMultipleChoiceField(
        queryset=Recipient.objects.all(),
        required=False,
        label=_("Also send to"),
        help_text=_("Search by last name, external id, phone or address."),
    )

    def __init__(self, *args: Any, seeds: list[int], admin_site: admin.AdminSite, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["seeds"].choices = [(pk, pk) for pk in seeds]
        others = self.fields["others"]
        # The admin's search over recipients (the test list's own autocomplete).
        others.widget = AutocompleteSelectMultiple(
            SeedRecipient._meta.get_field("recipient"), admin_site
        )
        others.widget.choices = others.choices

    def recipient_ids(self) -> list[int]:
        chosen = set(self.cleaned_data["seeds"])
        chosen |= {recipient.pk for recipient in self.cleaned_data["others"]}
        return sorted(chosen)


def seed_rows(campaign: Campaign, user: Any) -> list[dict]:
    """The user's test list as the send page shows it: each person, whose list they are on,
    and why they cannot get this test, when they cannot (the materialisation's rule)."""
    people = seed_recipients(user)
    reasons = {}
    for reach, why in (
        (Reach.OPTED_OUT, gettext("Opted out: gets no messages.")),
        (
            Reach.NO_ADDRESS,
            gettext("No %(channel)s address.") % {"channel": campaign.get_channel_display()},
        ),
    ):
        for pk in recipients_by_reach(people, campaign.channel, reach).values_list("pk", flat=True):
            reasons[pk] = why
    own = set(SeedRecipient.objects.filter(owner=user).values_list("recipient_id", flat=True))
    return [
        {
            "recipient": recipient,
            "whose": gettext("Mine") if recipient.pk in own else gettext("Everyone's"),
            "why_not": reasons.get(recipient.pk, ""),
        }
        for recipient in people
    ]


def send_test_view(model_admin: admin.ModelAdmin, request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test of the campaign to the test list or chosen people, then show the results."""
    if not request.user.has_perm("notifications.dispatch_campaign"):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk, kind=Campaign.Kind.CAMPAIGN)
    rows = seed_rows(campaign, request.user)
    reachable = [row["recipient"].pk for row in rows if not row["why_not"]]
    form = SendTestForm(
        request.POST if request.method == "POST" else None,
        seeds=[row["recipient"].pk for row in rows],
        admin_site=model_admin.admin_site,
        initial={"seeds": reachable},
    )
    change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    if request.method == "POST" and form.is_valid():
        try:
            test = campaign_send_test(
                campaign_id=campaign.pk, recipient_ids=form.recipient_ids(), user=request.user
            )
        except REFUSALS as exc:
            refusal_on_form(form, exc)
        else:
            count = test.deliveries.count()
            model_admin.message_user(
                request,
                ngettext(
                    "Test sent to %(count)s person; the results are below.",
                    "Test sent to %(count)s people; the results are below.",
                    count,
                )
                % {"count": number_text(count)},
                messages.SUCCESS,
            )
            return redirect(f"{change_url}#test-sends")
    ticked = {str(pk) for pk in form["seeds"].value() or []}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Send a test of '%(name)s'") % {"name": campaign},
        "opts": model_admin.model._meta,
        "original": campaign,
        "campaign": campaign,
        "change_url": change_url,
        "message": campaign_message(campaign),
        "rows": [{**row, "ticked": str(row["recipient"].pk) in ticked} for row in rows],
        "reachable": len(reachable),
        "form": form,
        "media": form.media,
        "max_recipients": MAX_TEST_RECIPIENTS,
        # Said before anyone clicks, with no button: the service would refuse it.
        "blocked": ""
        if campaign_allows(campaign, Action.SEND_TEST) or form.errors
        else refusal_sentence(campaign, Action.SEND_TEST),
    }
    return TemplateResponse(request, "admin/notifications/campaign/test_send.html", context)


def _version_label(test: Campaign, versions: dict[int, dict]) -> str:
    for version, content in versions.items():
        if content == test.content:
            return gettext("version %(version)s") % {"version": version}
    return gettext("the draft's text")


def _delivery_row(delivery: Delivery) -> dict:
    status = STATUS_TEXT[delivery.status]
    if delivery.status == Delivery.Status.SKIPPED and delivery.error:
        status = gettext("%(status)s: %(error)s") % {
            "status": status,
            "error": reason_text(delivery.error),
        }
    answer = ""
    if delivery.provider_response is not None:
        answer = json.dumps(delivery.provider_response, indent=2, ensure_ascii=False)
    return {
        "delivery": delivery,
        "status_text": status,
        "finished": delivery.status not in UNFINISHED,
        "message": list((delivery.content or {}).items()),
        "answer": answer,
        "error": reason_text(delivery.error) if delivery.status != Delivery.Status.SKIPPED else "",
    }


def campaign_test_results(campaign: Campaign) -> dict | None:
    """What the campaign page's "Test sends" section shows: the newest test sends, each
    person's status, exact message and the provider's answer; None when there are none."""
    tests = list(
        campaign.test_sends.filter(kind=Campaign.Kind.TEST)
        .select_related("created_by")
        .order_by("-id")
    )
    if not tests:
        return None
    shown = tests[:TEST_SENDS_SHOWN]
    deliveries: dict[int, list[dict]] = {test.pk: [] for test in shown}
    for delivery in (
        Delivery.objects.filter(campaign__in=shown).select_related("recipient").order_by("id")
    ):
        deliveries[delivery.campaign_id].append(_delivery_row(delivery))
    versions = dict(
        CampaignContent.objects.filter(campaign=campaign).values_list("version", "content")
    )
    ids = [test.pk for test in tests]
    messages_count = Delivery.objects.filter(campaign_id__in=ids).count()
    return {
        "campaign": campaign,
        "tests": [
            {
                "test": test,
                "by": test.created_by or gettext("someone"),
                "when": moment_text(test.dispatched_at or test.created_at),
                "version": _version_label(test, versions),
                "deliveries": deliveries[test.pk],
            }
            for test in shown
        ],
        "finished": all(row["finished"] for rows in deliveries.values() for row in rows),
        "count": len(tests),
        "list_url": reverse("admin:notifications_campaign_changelist")
        + "?"
        + urlencode({"kind__exact": Campaign.Kind.TEST, "parent__id__exact": campaign.pk}),
        "messages_count": messages_count,
        "messages_url": reverse("admin:notifications_delivery_changelist")
        + "?"
        + urlencode({"campaign__id__in": ",".join(map(str, ids))}),
        "poll_url": reverse("admin:notifications_campaign_test_results", args=[campaign.pk]),
    }


def send_test_results_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, pk: int
) -> JsonResponse:
    """The "Test sends" section afresh, for the few lines of script that refresh it."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_view_permission(request, campaign):
        raise PermissionDenied
    context = campaign_test_results(campaign)
    html = render_to_string(
        "admin/notifications/campaign/test_sends.html", {"test_sends": context}, request
    )
    return JsonResponse({"finished": context is None or context["finished"], "html": html})


def send_test_urls(model_admin: admin.ModelAdmin) -> list:
    """The send page and the results' endpoint, for `CampaignAdmin.get_urls`."""
    view = model_admin.admin_site.admin_view
    return [
        path(
            "<int:pk>/test/",
            view(partial(send_test_view, model_admin)),
            name="notifications_campaign_test_send",
        ),
        path(
            "<int:pk>/test/results/",
            view(partial(send_test_results_view, model_admin)),
            name="notifications_campaign_test_results",
        ),
    ]
