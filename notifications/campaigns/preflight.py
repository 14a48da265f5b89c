"""What stops a campaign's dispatch and what staff should know first."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.campaigns.selectors import campaign_message, campaign_people
from notifications.content.checks import (
    channel_template_errors,
    render_for_channel,
    template_errors,
)
from notifications.content.rendering import (
    RenderError,
    compile_template,
    recipient_context,
)
from notifications.models import (
    Campaign,
    Channel,
    Recipient,
)
from notifications.providers.registry import channel_status
from notifications.recipients.selectors import recipient_attribute_names

SAMPLE_RENDERS = 20


@dataclass(frozen=True)
class Preflight:
    """What stops a campaign's dispatch (errors) and what staff should know (warnings)."""

    errors: list[str]
    warnings: list[str]


def campaign_preflight(*, campaign: Campaign) -> Preflight:
    """Check a campaign before dispatch: content fits the channel, audience, provider."""
    errors: list[str] = []
    warnings: list[str] = []
    fields = campaign_message(campaign)
    if not any(fields.values()):
        errors.append("The campaign has no message: choose a template.")
    for messages in channel_template_errors(campaign.channel, fields).values():
        errors.extend(messages)
    for field_name, messages in template_errors(
        fields, known_variables=recipient_attribute_names()
    ).items():
        errors.extend(f"{field_name}: {message}" for message in messages)
    configured, reason = channel_status(campaign.channel)
    if not configured:
        errors.append(f"{Channel(campaign.channel).label} is not configured: {reason}")
    sample = list(campaign_people(campaign).order_by("id")[:SAMPLE_RENDERS])
    if not sample and campaign.kind == Campaign.Kind.CAMPAIGN:
        errors.append("The audience is empty: add recipients or choose another audience.")
    if sample and not errors:
        failures, tried = render_failures(fields, campaign.channel, sample)
        if len(failures) == tried:
            errors.append(f"The message renders for none of the first recipients; {failures[0]}")
    return Preflight(errors, warnings)


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
