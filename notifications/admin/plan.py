"""A draft's send plan as staff read it, on the desk and in the dispatch confirmation: the plan
in one sentence, who it holds back now, the message previewed for a few real recipients, and
what the plan warns of (variables some recipients lack, variables that multiply the requests).
"""

from __future__ import annotations

from django.utils.translation import gettext, ngettext

from notifications.campaigns.plan import (
    SendPlan,
    campaign_missing_variables,
    campaign_sample_recipients,
)
from notifications.content.preview import field_problem, message_preview
from notifications.content.rendering import (
    RenderError,
    compile_template,
    recipient_context,
)
from notifications.providers.registry import provider_class

from ..formats import number_text
from ..models import Campaign
from .base import moment_text
from .live import duration_text, rate_text


def plan_sentence(plan: SendPlan) -> str:
    """'48,000 Yandex Market chats at 1,000/hour ≈ 2 days', with the requests when they differ."""
    names = {"messages": provider_class(plan.channel).messages_text(plan.reachable)}
    if plan.limits is None:
        return gettext("%(messages)s; the provider's limit settings are invalid.") % names
    names.update(
        requests=number_text(plan.requests),
        rate=rate_text(plan.limits),
        duration=duration_text(plan.eta_seconds),
    )
    if plan.requests != plan.reachable:
        sentence = ngettext(
            "%(messages)s in %(requests)s request at %(rate)s %(duration)s",
            "%(messages)s in %(requests)s requests at %(rate)s %(duration)s",
            plan.requests,
        )
        return sentence % names
    return gettext("%(messages)s at %(rate)s %(duration)s") % names


def plan_holds(campaign: Campaign, plan: SendPlan) -> list[str]:
    """Who the plan's reachable are held back by, as sentences for the dispatch confirmation:
    those outside their send window now, and those at a frequency cap (deferred until, or
    skipped), or that the campaign's caps are off."""
    holds = []
    if plan.waiting.count:
        holds.append(
            gettext("Outside their send window now: %(count)s; the first window opens %(moment)s.")
            % {
                "count": number_text(plan.waiting.count),
                "moment": moment_text(plan.waiting.first_opening),
            }
        )
    if not campaign.caps_on:
        holds.append(gettext("Frequency caps are off for this campaign."))
    elif plan.capped.count and plan.capped_skipped:
        holds.append(
            gettext("At a frequency cap now: %(count)s, skipped.")
            % {"count": number_text(plan.capped.count)}
        )
    elif plan.capped.count:
        holds.append(
            gettext("At a frequency cap now: %(count)s, deferred until %(moment)s at the latest.")
            % {
                "count": number_text(plan.capped.count),
                "moment": moment_text(plan.capped.last_allowed),
            }
        )
    return holds


PREVIEW_RECIPIENTS = 3


def message_previews(campaign: Campaign, content: dict[str, str]) -> list[dict]:
    """The message as a few of the campaign's real recipients would get it, or the one error
    that stops it for everyone."""
    try:
        compile_template(content)
    except RenderError as exc:  # the same for everyone: said once
        return [{"recipient": None, "error": field_problem(exc.field, exc.message)}]
    previews = []
    for recipient in campaign_sample_recipients(campaign=campaign, limit=PREVIEW_RECIPIENTS):
        preview = message_preview(fields=content, channel=campaign.channel, recipient=recipient)
        previews.append(
            {
                "recipient": recipient,
                "fields": [field for field in preview.labelled_fields if field[2]],
                "error": " ".join(preview.problems),
            }
        )
    return previews


def _missing_variable_warnings(
    campaign: Campaign, content: dict[str, str], reachable: int
) -> list[str]:
    """Variables some recipients lack, where the message then fails (no default in the
    template), as sentences with how many: of all the reachable, or of the first ones read
    (`MISSING_SAMPLE`) with the share scaled to all."""
    warnings = []
    provider = provider_class(campaign.channel)
    try:
        compiled = compile_template(content)
    except RenderError:
        return warnings
    for missing in campaign_missing_variables(campaign=campaign, content=content):
        try:
            compiled.render(recipient_context(missing.example), fields=provider.content_fields)
        except RenderError:
            names = {
                "count": number_text(missing.recipients),
                "read": number_text(missing.read),
                "name": missing.name,
                "example": missing.example.external_id,
                "default": f"{{{{ {missing.name} | default: '…' }}}}",
            }
            if missing.read < reachable:
                scaled = round(missing.recipients * reachable / missing.read)
                names.update(scaled=number_text(scaled), reachable=number_text(reachable))
                sentence = ngettext(
                    "%(count)s of the first %(read)s recipients (≈ %(scaled)s of %(reachable)s) "
                    "has no '%(name)s': their message cannot be rendered and will fail (for "
                    "example %(example)s). Give the variable a default, such as %(default)s, or "
                    "import the column.",
                    "%(count)s of the first %(read)s recipients (≈ %(scaled)s of %(reachable)s) "
                    "have no '%(name)s': their message cannot be rendered and will fail (for "
                    "example %(example)s). Give the variable a default, such as %(default)s, or "
                    "import the column.",
                    missing.recipients,
                )
            else:
                sentence = ngettext(
                    "%(count)s of %(read)s recipients has no '%(name)s': their message cannot "
                    "be rendered and will fail (for example %(example)s). Give the variable a "
                    "default, such as %(default)s, or import the column.",
                    "%(count)s of %(read)s recipients have no '%(name)s': their message cannot "
                    "be rendered and will fail (for example %(example)s). Give the variable a "
                    "default, such as %(default)s, or import the column.",
                    missing.recipients,
                )
            warnings.append(sentence % names)
    return warnings


def _personalisation_warnings(campaign: Campaign, plan: SendPlan) -> list[str]:
    """Where variables in the message make the requests many more than one text for all
    would need: which ones, what they cost, and how to avoid it."""
    if not plan.personalised_by or plan.limits is None:
        return []
    variables = [f"{{{{ {name} }}}}" for name in plan.personalised_by]
    names = variables[0]
    for variable in variables[1:]:
        names = gettext("%(first)s and %(second)s") % {"first": names, "second": variable}
    provider = provider_class(campaign.channel)
    shared = plan.requests_with_one_text
    sentence = ngettext(
        "%(names)s makes the %(noun)s differ, and each different text is a request of its own: "
        "%(requests)s request (%(duration)s) instead of %(shared)s (%(shared_duration)s). To "
        "send in %(shared)s, keep %(names)s out of the %(fields)s.",
        "%(names)s makes the %(noun)s differ, and each different text is a request of its own: "
        "%(requests)s requests (%(duration)s) instead of %(shared)s (%(shared_duration)s). To "
        "send in %(shared)s, keep %(names)s out of the %(fields)s.",
        plan.requests,
    )
    return [
        sentence
        % {
            "names": names,
            "noun": provider.messages_noun,
            "requests": number_text(plan.requests),
            # The requests' own time, beside the shared text's: the plan's ETA also holds
            # the wait for quiet hours to end, the same either way.
            "duration": duration_text(plan.limits.min_duration(plan.requests).total_seconds()),
            "shared": number_text(shared),
            "shared_duration": duration_text(plan.limits.min_duration(shared).total_seconds()),
            "fields": ", ".join(provider.content_fields),
        }
    ]


def plan_warnings(campaign: Campaign, content: dict[str, str], plan: SendPlan) -> list[str]:
    """What the plan warns of, after the preflight's own warnings: variables that make the
    requests many, then variables some recipients lack."""
    return [
        *_personalisation_warnings(campaign, plan),
        *_missing_variable_warnings(campaign, content, plan.reachable),
    ]
