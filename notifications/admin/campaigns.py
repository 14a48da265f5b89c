"""The campaigns' admin: the campaign page with its desk and sending buttons, the live progress
endpoint and the providers page; the list's columns and counters are in `campaign_list.py`, the
bulk actions in `bulk.py`, the form in `forms.py`.
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.campaigns.channels import providers_overview
from notifications.campaigns.people import campaign_people_count
from notifications.campaigns.sending_rules import WINDOW_FIELDS, new_campaign_window
from notifications.campaigns.services import (
    CAPS_FIELDS,
    campaign_delete,
    campaign_save,
    campaign_window_changeable,
)
from notifications.campaigns.windows import days_of

from ..formats import number_text
from ..models import Campaign
from .base import ThroughServicesAdmin, changed_values
from .bulk import BulkTransitionsMixin
from .campaign_list import CampaignListMixin
from .compare import compare_selected, compare_urls
from .confirmations import transition_view
from .content import content_view, message_summary
from .desk import campaign_desk, timeline_view
from .follow_up import FollowUpView
from .forms import CampaignAdminForm, CampaignForm, audience_choice_label
from .live import campaign_live, rate_text
from .test_sends import KindFilter, campaign_test_results, send_test_urls
from .transitions import (
    transition_buttons,
)


@admin.register(Campaign)
class CampaignAdmin(CampaignListMixin, BulkTransitionsMixin, ThroughServicesAdmin):
    """Campaigns: a draft is edited here; sending goes through the transitions, behind the
    `dispatch_campaign` permission."""

    form = CampaignAdminForm
    list_display = [
        "name",
        "status_badge",
        "channel",
        "audience",
        "progress_bar",
        "sent",
        "failed",
        "unknown",
        "sms_clicks",
        "when",
    ]
    list_filter = ["status", "channel", KindFilter, "created_by"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    list_per_page = 50
    show_full_result_count = False
    filter_horizontal = ["audiences", "excluded_audiences"]
    autocomplete_fields = ["template"]
    readonly_fields = [
        "status",
        "pause_reason",
        "created_by",
        "dispatched_by",
        "dispatched_at",
        "started_at",
        "finished_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "channel",
                    "template",
                    "audiences",
                    "excluded_audiences",
                    "scheduled_at",
                    "status",
                ]
            },
        ),
        (
            _("Send window"),
            {
                "fields": list(WINDOW_FIELDS),
                "description": _(
                    "In each recipient's local time (their time zone, else the site's default "
                    "zone in Sending rules). Outside it, messages wait for it to open."
                ),
            },
        ),
        (
            _("Frequency caps"),
            {
                "fields": list(CAPS_FIELDS),
                "description": _(
                    "The site's caps (Settings: Frequency caps) limit how many marketing "
                    "messages one person gets a day or a week; they apply to this campaign "
                    "unless turned off here."
                ),
            },
        ),
        (_("SMS callbacks (Sendios)"), {"fields": ["sendios_project_id", "sendios_template_id"]}),
        (
            _("History"),
            {
                "classes": ["collapse"],
                "fields": [
                    "created_by",
                    "created_at",
                    "dispatched_by",
                    "dispatched_at",
                    "started_at",
                    "finished_at",
                    "updated_at",
                ],
            },
        ),
    ]

    class Media:
        css = {"all": ["notifications/desk.css"]}
        js = ["notifications/desk.js"]

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        # Content and audience freeze at dispatch: only a draft can be edited, and the send
        # window until the campaign starts.
        if obj is None or obj.status == Campaign.Status.DRAFT:
            return self.readonly_fields
        frozen = [*self.readonly_fields, *CampaignForm.Meta.fields, "excluded_audiences"]
        if campaign_window_changeable(obj):
            return [name for name in frozen if name not in (*WINDOW_FIELDS, *CAPS_FIELDS)]
        return [*frozen, "send_window"]

    def get_fieldsets(self, request: HttpRequest, obj: Campaign | None = None) -> list:
        if obj is None or campaign_window_changeable(obj):
            return self.fieldsets
        # Frozen: the window in one line rather than a mask of days.
        window = list(WINDOW_FIELDS)
        return [
            (name, {**options, "fields": ["send_window"]})
            if options["fields"] == window
            else (name, options)
            for name, options in self.fieldsets
        ]

    def get_form(self, request: HttpRequest, obj: Campaign | None = None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"may_dispatch": self.has_dispatch_permission(request)})

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {**new_campaign_window(), **super().get_changeform_initial_data(request)}

    @admin.display(description=_("Send window"))
    def send_window(self, obj: Campaign) -> str:
        if not obj.window_on:
            return gettext("Off: sent at any hour")
        days = ", ".join(str(WEEKDAYS_ABBR[day]) for day in sorted(days_of(obj.window_days)))
        return gettext("%(start)s to %(end)s local time, %(days)s") % {
            "start": obj.window_start.strftime("%H:%M"),
            "end": obj.window_end.strftime("%H:%M"),
            "days": days,
        }

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name in ("audiences", "excluded_audiences"):
            field.label_from_instance = audience_choice_label
        return field

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        data = changed_values(form, change)
        audiences = data.pop("audiences", None)
        excluded_audiences = data.pop("excluded_audiences", None)
        saved = campaign_save(
            campaign_id=obj.pk if change else None,
            data=data,
            audiences=audiences,
            excluded_audiences=excluded_audiences,
            user=request.user,
            may_dispatch=self.has_dispatch_permission(request),
        )
        # The admin's own messages and log entry name the object it holds.
        obj.pk, obj._state.adding = saved.pk, False

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Nothing left to save: campaign_save set the audiences (included and excluded), and a
        campaign has no inlines."""

    def delete_through_service(self, obj: Campaign) -> None:
        campaign_delete(campaign_id=obj.pk)

    # --- The campaign page, its live progress and the provider status page. -----------------

    def has_dispatch_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.dispatch_campaign")

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/send/<slug:action>/",
                self.admin_site.admin_view(partial(transition_view, self)),
                name="notifications_campaign_transition",
            ),
            path(
                "<int:pk>/content/",
                self.admin_site.admin_view(partial(content_view, self.admin_site)),
                name="notifications_campaign_content",
            ),
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="notifications_campaign_progress",
            ),
            path(
                "<int:pk>/timeline/",
                self.admin_site.admin_view(partial(timeline_view, self)),
                name="notifications_campaign_timeline",
            ),
            path(
                "<int:pk>/recount/",
                self.admin_site.admin_view(self.recount_view),
                name="notifications_campaign_recount",
            ),
            path(
                "providers/",
                self.admin_site.admin_view(self.providers_view),
                name="notifications_campaign_providers",
            ),
            path(
                "<int:campaign_id>/follow-up/<str:outcome>/",
                self.admin_site.admin_view(FollowUpView.as_view(admin_site=self.admin_site)),
                name="notifications_campaign_follow_up",
            ),
            *send_test_urls(self),
            *compare_urls(self),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        campaign = Campaign.objects.filter(pk=object_id).select_related("template").first()
        if campaign is not None and self.has_view_permission(request, campaign):
            extra["desk"] = campaign_desk(campaign)
            extra["desk"]["can_recount"] = self.has_change_permission(request, campaign)
            extra["transitions"] = transition_buttons(campaign, request.user)
            extra["message"] = message_summary(campaign)
            extra["test_sends"] = campaign_test_results(campaign)
            if campaign.status != Campaign.Status.DRAFT:
                # campaign_save and campaign_delete would refuse: no buttons that lead there,
                # but for saving the send window while that can still change.
                can_save = campaign_window_changeable(campaign)
                extra.update(
                    show_save=can_save,
                    show_save_and_continue=can_save,
                    show_save_and_add_another=False,
                    show_delete=False,
                )
        return super().change_view(request, object_id, form_url, extra)

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The campaign's live progress as JSON, for the few lines of script that poll it."""
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return JsonResponse(campaign_live(campaign))

    def recount_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Count a draft's people again now (the Recount button on its send plan)."""
        campaign = get_object_or_404(Campaign, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, campaign):
            raise PermissionDenied
        counts = campaign_people_count(campaign=campaign)
        self.message_user(
            request,
            gettext("Counted: %(people)s people, %(reachable)s reachable.")
            % {"people": number_text(counts.people), "reachable": number_text(counts.reachable)},
        )
        return redirect("admin:notifications_campaign_change", campaign.pk)

    def providers_view(self, request: HttpRequest) -> HttpResponse:
        """Each provider: configured or not and why, its limits, the limiter, the last error."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Providers"),
            "opts": self.model._meta,
            "providers": [
                {"overview": o, "rate": rate_text(o.limits) if o.limits else ""}
                for o in providers_overview()
            ],
            "can_connect_bitrix24": request.user.has_perm("notifications.add_bitrix24token"),
        }
        return TemplateResponse(request, "admin/notifications/campaign/providers.html", context)

    actions = [
        compare_selected,
        "pause_selected",
        "resume_selected",
        "cancel_selected",
        "delete_selected",
    ]
