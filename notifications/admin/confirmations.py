"""What stops a move on a campaign now, and what staff should know before they confirm it:
each said as a sentence with the page that mends it, counted exactly in SQL. The confirmation
page (`transition_view`) shows them, and offers no button while anything blocks the move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext, pgettext_lazy

from notifications.campaigns.actions import Action, campaign_allows, refusal_sentence
from notifications.campaigns.plan import campaign_recipients_left, campaign_send_plan
from notifications.campaigns.preflight import Fix, campaign_preflight, recipients_unrenderable
from notifications.campaigns.selectors import campaign_message, campaign_progress
from notifications.campaigns.versions import campaign_retry_outlook
from notifications.errors import REFUSALS

from ..formats import number_text
from ..models import Campaign, Delivery, Recipient
from .base import refusal_on_form
from .plan import plan_holds, plan_sentence
from .transitions import TRANSITIONS, TransitionForm, _offered


@dataclass(frozen=True)
class Note:
    """A sentence on a confirmation page, with the page that mends what it says, if any."""

    sentence: str
    fix_url: str = ""
    fix_label: str = ""


# "'Spring sale' has nothing to pause.": each move as the verb that ends the sentence.
_VERBS = {
    "dispatch": pgettext_lazy("nothing to", "dispatch"),
    "schedule": pgettext_lazy("nothing to", "schedule"),
    "pause": pgettext_lazy("nothing to", "pause"),
    "resume": pgettext_lazy("nothing to", "resume"),
    "cancel": pgettext_lazy("nothing to", "cancel"),
    "copy": pgettext_lazy("nothing to", "copy"),
    "reschedule": pgettext_lazy("nothing to", "reschedule"),
    "unschedule": pgettext_lazy("nothing to", "unschedule"),
}


def _lifecycle_action(action: str) -> Action:
    return Action.DISPATCH if action in ("dispatch", "schedule") else Action(action)


def transition_blocks(campaign: Campaign, action: str) -> list[Note]:
    """Why `action` cannot be done to `campaign` now, each with where to mend it: empty when
    the service would accept it (as far as can be known before trying)."""
    change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    back = gettext("See the campaign")
    progress = campaign_progress(campaign_id=campaign.pk)
    lifecycle = _lifecycle_action(action)
    if campaign.kind != Campaign.Kind.CAMPAIGN:
        kind = campaign.get_kind_display().lower()
        sentence = gettext("'%(name)s' is a %(kind)s: it runs by itself.") % {
            "name": campaign,
            "kind": kind,
        }
        return [Note(sentence, change_url, back)]
    if not campaign_allows(campaign, lifecycle):
        return [Note(refusal_sentence(campaign, lifecycle), change_url, back)]
    if action not in _offered(campaign, progress):
        if lifecycle == Action.RETRY_FAILED:
            nothing = gettext("No delivery of '%(name)s' failed: nothing to retry.")
            return [Note(nothing % {"name": campaign}, change_url, back)]
        if lifecycle == Action.RESEND_UNKNOWN:
            nothing = gettext("No delivery of '%(name)s' has an unknown fate.")
            return [Note(nothing % {"name": campaign}, change_url, back)]
        nothing = gettext("'%(name)s' has nothing to %(action)s.") % {
            "name": campaign,
            "action": _VERBS.get(action, action.replace("_", " ")),
        }
        return [Note(nothing, change_url, back)]
    if lifecycle != Action.DISPATCH:
        return []
    check = campaign_preflight(campaign=campaign)
    return [_fixable(campaign, error, check.fixes.get(error, "")) for error in check.errors]


def _fixable(campaign: Campaign, sentence: str, fix: str) -> Note:
    if fix == Fix.PROVIDER:
        return Note(
            sentence, reverse("admin:notifications_campaign_providers"), gettext("Providers")
        )
    change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    if fix == Fix.MESSAGE and campaign.template_id:
        url = reverse("admin:notifications_messagetemplate_change", args=[campaign.template_id])
        return Note(sentence, url, _edit_template(campaign))
    if fix == Fix.AUDIENCE:
        return Note(sentence, f"{change_url}#id_audiences", gettext("Choose the audiences"))
    return Note(sentence, change_url, gettext("Edit the campaign"))


def _edit_template(campaign: Campaign) -> str:
    return gettext("Edit the template '%(template)s'") % {"template": campaign.template}


def transition_notes(
    campaign: Campaign, action: str, *, reachable: int | None = None
) -> list[Note]:
    """What staff should know before they confirm, counted exactly in SQL."""
    if action in ("dispatch", "schedule"):
        # `reachable`: the plan the page has just counted, not a second count of the audience.
        return _unrenderable_notes(campaign, campaign_recipients_left(campaign), total=reachable)
    if action == "retry_failed":
        return _retry_notes(campaign)
    return []


def _unrenderable_notes(campaign: Campaign, recipients, *, total: int | None = None) -> list[Note]:
    fields = campaign_message(campaign)
    unrenderable = recipients_unrenderable(
        recipients=recipients, channel=campaign.channel, fields=fields
    )
    if unrenderable is None or not unrenderable.count:
        return []
    if total is None:
        total = recipients.count()
    sentence = ngettext(
        "%(count)s of the %(total)s reachable recipients cannot get this message and will "
        "fail: they have no %(names)s (for example %(example)s). Give the variable a default "
        "in the message, or import the column.",
        "%(count)s of the %(total)s reachable recipients cannot get this message and will "
        "fail: they have no %(names)s (for example %(example)s). Give the variable a default "
        "in the message, or import the column.",
        total,
    ) % {
        "count": number_text(unrenderable.count),
        "total": number_text(total),
        "names": ", ".join(f"'{name}'" for name in unrenderable.variables),
        "example": unrenderable.example,
    }
    return [Note(sentence, *_edit_message(campaign))]


def _edit_message(campaign: Campaign) -> tuple[str, str]:
    if campaign.status == Campaign.Status.DRAFT:
        if campaign.template_id:
            url = reverse("admin:notifications_messagetemplate_change", args=[campaign.template_id])
            return url, _edit_template(campaign)
        return reverse("admin:notifications_campaign_change", args=[campaign.pk]), gettext("Edit")
    return reverse("admin:notifications_campaign_content", args=[campaign.pk]), gettext(
        "Edit the message"
    )


def _retry_notes(campaign: Campaign) -> list[Note]:
    """Whether sending the failed again would fail them again: content errors of the current
    version, and how many of those people the message still cannot be rendered for now."""
    outlook = campaign_retry_outlook(campaign)
    notes = []
    failed_people = Recipient.objects.filter(
        pk__in=Delivery.objects.filter(
            campaign_id=campaign.pk, status=Delivery.Status.FAILED
        ).values("recipient_id")
    )
    if outlook.will_fail_again:
        sentence = gettext(
            "%(count)s of the %(failed)s failed because of the message itself (%(error)s), and "
            "version %(version)s is still the message."
        ) % {
            "count": number_text(outlook.content_errors),
            "failed": number_text(outlook.failed),
            "error": outlook.example_error,
            "version": outlook.version,
        }
        still = recipients_unrenderable(
            recipients=failed_people, channel=campaign.channel, fields=campaign_message(campaign)
        )
        if still is not None and still.count:
            sentence += " " + gettext(
                "%(count)s of them still cannot get it: they have no %(names)s. Sending again "
                "fails them again; edit the message first."
            ) % {
                "count": number_text(still.count),
                "names": ", ".join(f"'{name}'" for name in still.variables),
            }
        else:
            sentence += " " + gettext(
                "It renders for all of them now: their data has changed since."
            )
        notes.append(Note(sentence, *_edit_message(campaign)))
    if outlook.template_changed:
        notes.append(
            Note(
                gettext(
                    "The template '%(template)s' has changed since version %(version)s: to send "
                    "its new text, make it the next version first."
                )
                % {"template": campaign.template, "version": outlook.version},
                *_edit_message(campaign),
            )
        )
    return notes


def transition_view(model_admin, request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Ask for confirmation with the numbers the move touches, then call the service.

    A move the service would refuse now is not offered: the page says why and links to
    where it is mended, and has no button to confirm.
    """
    if action not in TRANSITIONS or not request.user.has_perm(TRANSITIONS[action].permission):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    transition = TRANSITIONS[action]
    change_url = reverse("admin:notifications_campaign_change", args=[campaign.pk])
    form = TransitionForm(
        request.POST if request.method == "POST" else None,
        action=action,
        initial={"scheduled_at": campaign.scheduled_at},
    )
    blocks = transition_blocks(campaign, action)
    if request.method == "POST" and not blocks and form.is_valid():
        try:
            done = transition.run(campaign, request.user, form.cleaned_data)
        except REFUSALS as exc:
            campaign.refresh_from_db()
            blocks = transition_blocks(campaign, action)
            if not blocks:  # a refusal the page could not foresee: said once, on the form
                refusal_on_form(form, exc)
        else:
            message, url = done if isinstance(done, tuple) else (done, change_url)
            model_admin.message_user(request, message, messages.SUCCESS)
            return redirect(url)
    plan = None
    if action in ("dispatch", "schedule") and not blocks:
        # Counted afresh: what staff confirm is who is in the audiences now (the question
        # below reads this count again).
        plan = campaign_send_plan(
            campaign=campaign, content=campaign_message(campaign), max_age=timedelta(0)
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{transition.label}: {campaign}",
        "opts": Campaign._meta,
        "original": campaign,
        "campaign": campaign,
        "blocks": blocks,
        "question": "" if blocks else transition.question(campaign),
        "plan_sentence": plan_sentence(plan) if plan else "",
        "plan_holds": plan_holds(campaign, plan) if plan else [],
        "notes": []
        if blocks
        else transition_notes(campaign, action, reachable=plan.reachable if plan else None),
        "form": form,
        "change_url": change_url,
        "button": transition.label,
        "dangerous": action in ("cancel", "resend_unknown", "unschedule"),
    }
    return TemplateResponse(request, "admin/notifications/campaign/transition.html", context)
