"""The campaign list's bulk actions (pause, resume, cancel the selected campaigns), each
confirmed on a page that counts the deliveries they touch."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from notifications.campaigns.actions import Action, campaign_allows, refusal_sentence
from notifications.campaigns.lifecycle import campaign_cancel, campaign_pause, campaign_resume
from notifications.campaigns.selectors import (
    campaigns_progress,
)
from notifications.errors import REFUSALS
from notifications.formats import number_text

# Each action's verb as its confirmation page says it ("Pause these campaigns?", "Yes, pause"),
# and the page's title (`_title`) whole, so that a language can decline the noun after the number.
_VERBS = {
    Action.PAUSE: pgettext_lazy("bulk action", "pause"),
    Action.RESUME: pgettext_lazy("bulk action", "resume"),
    Action.CANCEL: pgettext_lazy("bulk action", "cancel"),
}


def _title(action: Action, count: int) -> str:
    if action == Action.PAUSE:
        title = ngettext("Pause %(count)s campaign?", "Pause %(count)s campaigns?", count)
    elif action == Action.RESUME:
        title = ngettext("Resume %(count)s campaign?", "Resume %(count)s campaigns?", count)
    else:
        title = ngettext("Cancel %(count)s campaign?", "Cancel %(count)s campaigns?", count)
    return title % {"count": number_text(count)}


class BulkTransitionsMixin:
    """The bulk actions of `CampaignAdmin`, which lists them in its `actions`."""

    @admin.action(description=_("Pause selected campaigns"), permissions=["dispatch"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            Action.PAUSE,
            lambda c: campaign_pause(campaign_id=c.pk, user=request.user),
        )

    @admin.action(description=_("Resume selected campaigns"), permissions=["dispatch"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            Action.RESUME,
            lambda c: campaign_resume(campaign_id=c.pk, user=request.user),
        )

    @admin.action(description=_("Cancel selected campaigns"), permissions=["dispatch"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(
            request,
            queryset,
            Action.CANCEL,
            lambda c: campaign_cancel(campaign_id=c.pk, user=request.user),
        )

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet, action: Action, call
    ) -> HttpResponse | None:
        """Confirm first, naming the campaigns the lifecycle refuses (they are left out) and
        counting the deliveries of the others; then call the service for each."""
        campaigns = list(queryset)
        if request.POST.get("confirmed") != "yes":
            allowed = [c for c in campaigns if campaign_allows(c, action)]
            progress = campaigns_progress(campaign_ids=[c.pk for c in allowed])
            rows = [(c, progress[c.pk]["pending"] + progress[c.pk]["sending"]) for c in allowed]
            context = {
                **self.admin_site.each_context(request),
                "title": _title(action, len(allowed)),
                "opts": self.model._meta,
                "rows": rows,
                "refused": [refusal_sentence(c, action) for c in campaigns if c not in allowed],
                "open_total": sum(open_count for _, open_count in rows),
                "verb": _VERBS[action],
                "action": request.POST.get("action", ""),
                "selected": [c.pk for c in allowed],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/notifications/campaign/bulk_confirm.html", context
            )
        done, refused = 0, []
        for campaign in campaigns:
            try:
                call(campaign)
            except REFUSALS as exc:
                refused.append(str(exc))
            else:
                done += 1
        if done:
            done_text = ngettext("%(count)s campaign done.", "%(count)s campaigns done.", done)
            self.message_user(request, done_text % {"count": number_text(done)}, messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
        return None
