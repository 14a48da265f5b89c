"""What stops a campaign's dispatch and what staff should know first."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from notifications.campaigns.selectors import campaign_message, campaign_people
from notifications.content.checks import (
    channel_template_errors,
    render_for_channel,
    template_errors,
)
from notifications.content.rendering import (
    RECIPIENT_FIELDS,
    RenderError,
    compile_template,
    recipient_context,
)
from notifications.models import (
    Campaign,
    Channel,
    Recipient,
)
from notifications.providers.registry import channel_status, provider_class
from notifications.recipients.selectors import recipient_attribute_names

SAMPLE_RENDERS = 20


class Fix:
    """Where staff mend what a preflight error names (the pages link each kind to its page)."""

    MESSAGE = "message"
    AUDIENCE = "audience"
    PROVIDER = "provider"


@dataclass(frozen=True)
class Preflight:
    """What stops a campaign's dispatch (errors) and what staff should know (warnings);
    `fixes` names, for an error, which `Fix` mends it."""

    errors: list[str]
    warnings: list[str]
    fixes: dict[str, str] = field(default_factory=dict)


def campaign_preflight(*, campaign: Campaign) -> Preflight:
    """Check a campaign before dispatch: content fits the channel, audience, provider."""
    errors: list[str] = []
    fixes: dict[str, str] = {}

    def error(sentence: str, fix: str) -> None:
        errors.append(sentence)
        fixes[sentence] = fix

    fields = campaign_message(campaign)
    if not any(fields.values()):
        error(gettext("The campaign has no message: choose a template."), Fix.MESSAGE)
    for messages in channel_template_errors(campaign.channel, fields).values():
        for message in messages:
            error(message, Fix.MESSAGE)
    for field_name, messages in template_errors(
        fields, known_variables=recipient_attribute_names()
    ).items():
        for message in messages:
            error(f"{field_name}: {message}", Fix.MESSAGE)
    configured, reason = channel_status(campaign.channel)
    if not configured:
        error(
            gettext("%(channel)s is not configured: %(reason)s")
            % {"channel": Channel(campaign.channel).label, "reason": reason},
            Fix.PROVIDER,
        )
    sample = list(campaign_people(campaign).order_by("id")[:SAMPLE_RENDERS])
    if not sample and campaign.kind == Campaign.Kind.CAMPAIGN:
        error(
            gettext("The audience is empty: add recipients or choose another audience."),
            Fix.AUDIENCE,
        )
    if sample and not errors:
        failures, tried = render_failures(fields, campaign.channel, sample)
        if len(failures) == tried:
            error(
                gettext("The message renders for none of the first recipients; %(example)s")
                % {"example": failures[0]},
                Fix.MESSAGE,
            )
    return Preflight(errors, [], fixes)


@dataclass(frozen=True)
class Unrenderable:
    """Recipients a message cannot be rendered for because they lack a variable it needs:
    `count` of them (counted in SQL), lacking any of `variables`; one example and its error."""

    count: int
    variables: tuple[str, ...]
    example: str


def recipients_unrenderable(
    *, recipients: QuerySet[Recipient], channel: str, fields: dict[str, str]
) -> Unrenderable | None:
    """How many of `recipients` the message fails for by a missing variable, exactly.

    A variable counts when rendering for someone who lacks it fails (no `default` in the
    template): found by rendering the first such recipient. Then one COUNT over those lacking
    any of them. Other render failures (a value too long once rendered) are not counted:
    they depend on each value, and the sample render of the preflight reports them.
    """
    try:
        compiled = compile_template(fields)
    except RenderError:
        return None
    used = compiled.variables_in(provider_class(channel).content_fields) - set(RECIPIENT_FIELDS)
    needed, example = [], ""
    for name in sorted(used):
        lacking = recipients.exclude(attributes__has_key=name).order_by("pk").first()
        if lacking is None:
            continue
        try:
            render_for_channel(compiled, channel, recipient_context(lacking))
        except RenderError as exc:
            needed.append(name)
            example = example or f"{lacking.external_id}: {exc}"
    if not needed:
        return None
    lacking_any = reduce(or_, (~Q(attributes__has_key=name) for name in needed))
    return Unrenderable(recipients.filter(lacking_any).count(), tuple(needed), example)


def render_failures(
    fields: dict[str, str], channel: str, recipients: list[Recipient]
) -> tuple[list[str], int]:
    """'external_id: why' for each of `recipients` the message cannot be rendered for on
    `channel`, and how many were tried."""
    compiled = compile_template(fields)
    failures = []
    for recipient in recipients:
        try:
            render_for_channel(compiled, channel, recipient_context(recipient))
        except RenderError as exc:
            failures.append(f"{recipient.external_id}: {exc}")
    return failures, len(recipients)
