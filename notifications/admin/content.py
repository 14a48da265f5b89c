"""A dispatched campaign's message: its versions, and the page where staff save the next one
(while the campaign is paused, or before a retry) after previewing it for the people it would
now go to."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.actions import Action, campaign_allows, refusal_sentence
from notifications.campaigns.preflight import recipients_unrenderable
from notifications.campaigns.services import campaign_content_edit
from notifications.campaigns.versions import template_differs, tried_with, versions_tried
from notifications.content.preview import field_label, message_preview
from notifications.content.rendering import template_fields
from notifications.errors import REFUSALS
from notifications.models import Campaign, CampaignContent, Delivery, MessageTemplate, Recipient
from notifications.providers.registry import provider_class

from .base import moment_text, refusal_on_form

# The people a new version goes to: everyone not sent to yet, and the failed and unknown a
# retry or resend would try again.
_STILL_TO_GO = (
    Delivery.Status.FAILED,
    Delivery.Status.UNKNOWN,
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
)
PREVIEWS = 3


class ContentForm(forms.Form):
    """The channel's message fields; the service checks them as a draft's are checked."""

    def __init__(self, *args, channel: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in provider_class(channel).content_fields:
            widget = forms.Textarea(attrs={"rows": 5, "cols": 80}) if name == "body" else None
            self.fields[name] = forms.CharField(
                label=field_label(name), required=False, strip=False, widget=widget
            )


def versions_url(campaign_id: int) -> str:
    return reverse("admin:notifications_campaign_content", args=[campaign_id])


class VersionFilter(admin.SimpleListFilter):
    """Deliveries by the message version they were last tried with, by the rule the versions
    page counts them with (`versions.tried_with`: none means the first)."""

    title = _("message version")
    parameter_name = "version"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        versions = CampaignContent.objects.order_by("version").values_list("version", flat=True)
        campaign = request.GET.get("campaign__id__exact", "")
        if campaign.isdigit():
            versions = versions.filter(campaign_id=int(campaign))
        return [
            (str(v), gettext("Version %(version)s") % {"version": v}) for v in sorted(set(versions))
        ]

    def queryset(self, request: HttpRequest, queryset):
        value = self.value() or ""
        return queryset.filter(tried_with(int(value))) if value.isdigit() else queryset


def version_deliveries_url(campaign_id: int, version: int) -> str:
    query = urlencode({"campaign__id__exact": campaign_id, VersionFilter.parameter_name: version})
    return f"{reverse('admin:notifications_delivery_changelist')}?{query}"


def campaign_versions(campaign: Campaign) -> list[dict]:
    """Each version, newest first, with how many deliveries were last tried with it (one
    grouped count over the campaign's deliveries)."""
    tried = versions_tried(campaign.pk)
    versions = CampaignContent.objects.filter(campaign=campaign).select_related(
        "created_by", "template"
    )
    return [
        {
            "version": version,
            "saved": moment_text(version.created_at),
            "by": version.created_by.get_username() if version.created_by else "",
            "current": version.version == campaign.content_version,
            "tried": tried.get(version.version, 0),
            "tried_url": version_deliveries_url(campaign.pk, version.version),
            "fields": [
                (field_label(name), version.content.get(name, ""))
                for name in provider_class(campaign.channel).content_fields
                if version.content.get(name)
            ],
        }
        for version in versions
    ]


def message_summary(campaign: Campaign) -> dict | None:
    """The campaign page's line on its message: which version goes out, and where to see the
    others; None before dispatch (a draft's message is its template)."""
    if not campaign.content_version:
        return None
    ended = campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED)
    return {
        "version": campaign.content_version,
        "ended": ended,
        "url": versions_url(campaign.pk),
        "template_changed": template_differs(campaign),
    }


def content_view(admin_site, request: HttpRequest, pk: int) -> HttpResponse:
    """The versions of a campaign's message and, while it may change, the next one."""
    campaign = get_object_or_404(Campaign.objects.select_related("template"), pk=pk)
    if not request.user.has_perm("notifications.view_campaign"):
        raise PermissionDenied
    may_edit = request.user.has_perm("notifications.dispatch_campaign")
    editable = campaign_allows(campaign, Action.EDIT_CONTENT)
    change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    sent = provider_class(campaign.channel).content_fields
    initial = {name: campaign.content.get(name, "") for name in sent}
    form = ContentForm(initial=initial, channel=campaign.channel)
    previews, unrenderable, taken = [], None, False
    if request.method == "POST":
        if not (may_edit and editable):
            raise PermissionDenied
        if "_from_template" in request.POST and campaign.template:
            text, taken = template_fields(campaign.template), True
            form = ContentForm(
                initial={name: text[name] for name in sent}, channel=campaign.channel
            )
        else:
            form = ContentForm(request.POST, channel=campaign.channel)
            if form.is_valid() and "_save" in request.POST:
                try:
                    campaign_content_edit(
                        campaign_id=campaign.pk,
                        content=form.cleaned_data,
                        user=request.user,
                        template=_same_template(campaign.template, form.cleaned_data),
                    )
                except REFUSALS as exc:
                    refusal_on_form(form, exc)
                else:
                    campaign.refresh_from_db()
                    messages.success(
                        request,
                        gettext(
                            "Version %(version)s of the message is saved: it is what goes out "
                            "from now on."
                        )
                        % {"version": campaign.content_version},
                    )
                    return redirect(change_url)
        fields = form.cleaned_data if form.is_bound and form.is_valid() else form.initial
        people = _still_to_go(campaign)
        previews = [
            message_preview(fields=fields, channel=campaign.channel, recipient=recipient)
            for recipient in people.order_by("pk")[:PREVIEWS]
        ]
        unrenderable = recipients_unrenderable(
            recipients=people, channel=campaign.channel, fields=dict(fields)
        )
        if unrenderable is not None:
            unrenderable = {"count": unrenderable.count, "of": people.count(), **vars(unrenderable)}
    context = {
        **admin_site.each_context(request),
        "title": gettext("Message of %(name)s") % {"name": campaign},
        "opts": Campaign._meta,
        "original": campaign,
        "campaign": campaign,
        "change_url": change_url,
        "form": form,
        "may_edit": may_edit and editable,
        "not_editable": "" if editable else refusal_sentence(campaign, Action.EDIT_CONTENT),
        "template_differs": template_differs(campaign),
        "template_taken": taken,
        "next_version": campaign.content_version + 1,
        "versions": campaign_versions(campaign),
        "previews": previews,
        "unrenderable": unrenderable,
    }
    return TemplateResponse(request, "admin/notifications/campaign/content.html", context)


def _still_to_go(campaign: Campaign):
    return Recipient.objects.filter(
        pk__in=Delivery.objects.filter(campaign_id=campaign.pk, status__in=_STILL_TO_GO).values(
            "recipient_id"
        )
    )


def _same_template(template: MessageTemplate | None, fields: dict) -> MessageTemplate | None:
    """The template, when the new version is its text as it is now (kept with the version)."""
    if template is None:
        return None
    current = template_fields(template)
    same = all(current.get(name, "") == value for name, value in fields.items())
    return template if same else None
