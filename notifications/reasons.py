"""Sentences the system writes down about what it did: why a campaign paused, why a delivery
was skipped or given up, why an endpoint was turned off, why an export failed, why a webhook
body or event was refused.

They are stored as a code and its parameters, never as a sentence, and made into a sentence
where someone reads them, in the reader's language: a sentence stored under one request's
language would read in that language to everyone, for ever. This module owns the codes and
their sentences; nothing else builds these sentences.

A stored reason is a short text in the column the sentence used to take, so writing one costs
nothing more than writing the sentence did (the send path writes thousands a second):
`@paused_by {"who":"alice"}`. Text that is not such an encoding is shown as it is: rows stored
before the codes, and texts that are not ours (a provider's own answer).

A reason may follow a lead and a colon, `http_500: @imshop_http {"status":500}`: the send path
stores a provider's result as its machine code, a colon and its message, and the lead is shown
as it is before the sentence.

Parameters are shown as they are, except that a `channel` holds a channel's code and reads as
its name, a whole number other than `count` (which picks the plural form) is grouped as the
reader's language groups digits, and a parameter that is itself a stored reason reads as its
sentence (the error a breaker's pause quotes may be one of ours).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, override

from .formats import number_text
from .models import Channel

# Sentences whose number is a parameter name are ngettext_lazy with that name ("count"), so
# Russian gets its three forms.
SENTENCES: dict[str, Promise] = {
    # Why a campaign paused (`Campaign.pause_reason`, and the note of its history event).
    "paused": _("Paused."),
    "paused_by": _("Paused by %(who)s."),
    "provider_configuration": _("%(channel)s: %(error)s"),
    "breaker": ngettext_lazy(
        "%(channel)s failed %(count)s request in a row; last: %(error)s",
        "%(channel)s failed %(count)s requests in a row; last: %(error)s",
        "count",
    ),
    "no_detail": _("no detail"),
    # Notes of a campaign's other moves in its history.
    "back_to_draft": _("Back to draft."),
    "scheduled_time_came": _("Its scheduled time came."),
    "caps_off": _("Frequency caps turned off."),
    "caps_off_by": _("Frequency caps turned off by %(who)s."),
    "caps_on": _("Frequency caps turned on again."),
    "caps_on_by": _("Frequency caps turned on again by %(who)s."),
    "to_send_again": ngettext_lazy(
        "%(count)s message to send again.", "%(count)s messages to send again.", "count"
    ),
    # Why a delivery was skipped, retried or given up (`Delivery.error`, the event's detail).
    "excluded_by": _("Excluded by %(audience)s."),
    "opted_out": _("The recipient opted out."),
    "no_address": _("No %(channel)s address."),
    "provider_limit": _("provider limit reached"),
    "provider_limit_detail": _("provider limit reached; %(detail)s"),
    "gave_up": ngettext_lazy(
        "gave up after %(count)s attempt; last: %(detail)s",
        "gave up after %(count)s attempts; last: %(detail)s",
        "count",
    ),
    "worker_lost": _("The worker sending this stopped before the provider answered."),
    # Frequency caps (`campaigns.caps`): a cap as staff read it, and what it did to a delivery.
    "cap_day": ngettext_lazy(
        "%(count)s a day on %(channel)s", "%(count)s a day on %(channel)s", "count"
    ),
    "cap_week": ngettext_lazy(
        "%(count)s a week on %(channel)s", "%(count)s a week on %(channel)s", "count"
    ),
    "cap_day_all": ngettext_lazy(
        "%(count)s a day across all channels", "%(count)s a day across all channels", "count"
    ),
    "cap_week_all": ngettext_lazy(
        "%(count)s a week across all channels", "%(count)s a week across all channels", "count"
    ),
    "capped_skipped": _("Skipped by the frequency cap: %(cap)s."),
    "capped_deferred": _("Deferred by the frequency cap: %(cap)s."),
    # Why the shared limiter holds a provider (`RateLimitState.hold_reason`).
    "provider_asked_to_wait": _("provider asked to wait"),
    # Outbound webhooks: why an endpoint is off (`Endpoint.disabled_reason`), and what became
    # of a message's last request (`Message.last_answer`, when it is not the receiver's answer).
    "endpoint_turned_off": _("Turned off by staff."),
    "endpoint_failing": _("No request succeeded for %(span)s; the last answer: %(answer)s"),
    "span_hours": _("%(hours)s h"),
    "span_minutes": _("%(minutes)s min"),
    "not_requested": _("Not requested: %(reason)s"),
    "no_answer": _("No answer: %(error)s"),
    "redirect_not_followed": _("A redirect (not followed). %(answer)s"),
    # Why an export failed (`ExportJob.error`).
    "export_stale_running": _("The worker stopped while writing this export; run it again."),
    "export_stale_queued": _(
        "No background worker took this export up (they may be stopped, or busy sending); "
        "run it again."
    ),
    "export_no_longer_allowed": _(
        "You may no longer view this list, so the export was not written."
    ),
    "export_timed_out": _(
        "Writing took longer than the %(seconds)s s an export may take (EXPORT_TIMEOUT_SECONDS); "
        "narrow the list with its filters, or export CSV, which is written faster."
    ),
    "export_write_failed": _("Writing the file failed; the error is in the worker's log."),
    # Why an SMS webhook's body or one of its events was refused (`InboundWebhook.error`,
    # `InboundEvent.reason`); the sender is answered in English.
    "webhook_body_not_events": _("The body is JSON %(kind)s, not an object or an array of events."),
    "webhook_body_no_event": _(
        'The body holds no event object: expected numeric keys ("0", "1", ...) whose '
        'values are events, an array of events, or one event with an "event" field.'
    ),
    "webhook_body_empty": _("The body is empty: expected JSON events."),
    "webhook_body_not_utf8": _("The body is not UTF-8 text: byte %(position)s cannot be decoded."),
    "webhook_body_not_json": _(
        "The body is not valid JSON: %(reason)s at line %(line)s column %(column)s."
    ),
    "webhook_body_too_deep": _("The body is not usable JSON: it is nested too deeply."),
    "webhook_body_unusable": _("The body is not usable JSON: %(reason)s."),
    "webhook_body_long_number": _("The body is not usable JSON: a number has too many digits."),
    "webhook_not_a_number": _("%(name)s is not a JSON number"),
    "webhook_number_out_of_range": _("the number %(number)s is out of range"),
    "webhook_body_too_large": _("The body is larger than the limit of %(limit)s bytes."),
    "webhook_body_too_large_sized": _(
        "The body of %(size)s bytes is larger than the limit of %(limit)s bytes."
    ),
    "webhook_body_unreadable": _("The body could not be read: %(reason)s."),
    "webhook_processing_failed": _("Processing failed: %(kind)s: %(error)s"),
    "webhook_event_not_object": _("The event is %(kind)s, not a JSON object."),
    "webhook_event_no_type": _('The event has no "event" field.'),
    "webhook_event_type_not_name": _('"event" must be a name, not %(value)s.'),
    "webhook_event_type_too_long": _('"event" is longer than %(limit)s characters.'),
    "webhook_event_ts_out_of_range": _(
        '"ts" %(ts)s is not a time between %(earliest)s and %(latest)s in unix seconds.'
    ),
    "webhook_event_field_missing": _('The event has no "%(name)s".'),
    "webhook_event_field_not_integer": _('"%(name)s" must be a whole number, not %(value)s.'),
    "webhook_event_field_out_of_range": _('"%(name)s" %(number)s is out of range.'),
    "webhook_event_field_not_text": _('"%(name)s" must be text, not %(value)s.'),
    "webhook_event_field_too_long": _('"%(name)s" is longer than %(limit)s characters.'),
    "webhook_event_too_deep": _("The event is nested deeper than %(depth)s levels."),
    "webhook_event_text_unstorable": _(
        "The event holds text that cannot be stored (a NUL character or an unpaired surrogate)."
    ),
    "webhook_event_key_unstorable": _(
        "The event holds a field name that cannot be stored (a NUL character "
        "or an unpaired surrogate)."
    ),
    # What a provider answered, or why no answer came (`SendResult.message`, so a delivery's
    # error; a ProviderConfigurationError's text, so the error a pause quotes). The provider's
    # own words are the parameter `said`, kept as it gave them.
    "said": _("%(reason)s: %(said)s"),
    "no_reason_given": _("no reason given"),
    "the_provider": _("the provider"),
    # Why a provider would not take a recipient's address (the provider's own refusal, so a
    # delivery's error; recipient validation reads the same sentence), and the ids' names.
    "address_empty": _("%(label)s is empty."),
    "address_not_number": _("%(label)s must be a positive whole number, not %(value)s."),
    "imshop_user_id": _("Imshop user id"),
    "leadconverter_subscriber_id": _("LeadConverter subscriber_id"),
    "yandex_market_chat_id": _("Yandex Market chatId"),
    "bitrix24_user_id": _("Bitrix24 USER_ID"),
    # What a channel's message cannot go without (a provider's refusal, and content checks).
    "imshop_needs_title": _("Imshop pushes need a title."),
    "imshop_needs_text": _("Imshop pushes need a text."),
    "leadconverter_needs_content": _("LeadConverter messages need a text, a file UUID, or both."),
    "yandex_market_needs_text": _("Yandex Market messages need a text."),
    "bitrix24_needs_text": _("Bitrix24 pushes need a text."),
    "connect_timeout": _("%(host)s did not accept a connection in time; nothing was sent."),
    "read_timeout": _(
        "%(host)s did not answer within %(seconds)s s; the message may have been delivered."
    ),
    "no_secure_connection": _("Could not open a secure connection to %(host)s; nothing was sent."),
    "no_connection": _(
        "Could not connect to %(host)s (refused, unreachable or unknown host); nothing was sent."
    ),
    "connection_lost": _(
        "The connection to %(host)s broke before an answer came; "
        "the message may have been delivered."
    ),
    "request_unbuildable": _(
        "%(channel)s: the request could not be built (%(error)s); check the provider's URL settings"
    ),
    "imshop_http": _("Imshop answered HTTP %(status)s"),
    "imshop_refused": _(
        "Imshop refused the request (HTTP %(status)s); check IMSHOP_PUSH_URL and IMSHOP_API_KEY"
    ),
    "imshop_not_sent": _("Imshop did not send the push"),
    "imshop_check_keys": _("%(reason)s: check IMSHOP_PUSH_URL and IMSHOP_API_KEY"),
    "imshop_unreadable": _(
        "Imshop accepted the request (HTTP %(status)s) but its answer has no "
        "`success` flag; the push may have been delivered."
    ),
    "imshop_no_content": _("Imshop pushes need a title and a text."),
    "leadconverter_http": _("LeadConverter answered HTTP %(status)s"),
    "leadconverter_check_url": _(
        "%(text)s; check LEADCONVERTER_API_URL and LEADCONVERTER_TOKEN (part of the path)"
    ),
    "leadconverter_check_token": _("%(text)s; check LEADCONVERTER_TOKEN"),
    "leadconverter_unreadable": _(
        "LeadConverter accepted the batch (HTTP %(status)s) but its answer is not JSON; "
        "the messages may have been delivered."
    ),
    "leadconverter_refused": _("LeadConverter refused the batch"),
    "yandex_market_http": _("Yandex Market answered HTTP %(status)s"),
    "yandex_market_refused": _("Yandex Market refused the message"),
    "yandex_market_no_method": _(
        "Yandex Market has no such method at YANDEX_MARKET_API_URL (HTTP %(status)s); check it"
    ),
    "yandex_market_key_refused": _(
        "Yandex Market refused YANDEX_MARKET_API_KEY for business %(business)s "
        "(HTTP %(status)s); check the key, its `communication` scope and "
        "YANDEX_MARKET_BUSINESS_ID"
    ),
    "text_too_long": _("%(vendor)s takes 1 to %(limit)s characters; this text has %(length)s."),
    "bitrix24_not_connected": _(
        "Bitrix24 is not connected: a person must connect the app (Admin → Connect Bitrix24)"
    ),
    "bitrix24_answered": _("Bitrix24 answered %(error)s"),
    "bitrix24_answered_hint": _("Bitrix24 answered %(error)s: %(hint)s."),
    "bitrix24_answered_hint_said": _("Bitrix24 answered %(error)s: %(hint)s. %(said)s"),
    "bitrix24_no_such_method": _(
        "the portal has no such REST method: check BITRIX24_PORTAL_URL (a portal is a host, such "
        "as https://yourcompany.bitrix24.ru; REST lives at its /rest/)"
    ),
    "bitrix24_wrong_auth_type": _(
        "pushes can only be sent by an OAuth application, not a webhook: check "
        "BITRIX24_CLIENT_ID and BITRIX24_CLIENT_SECRET, then connect the app (Admin → Connect "
        "Bitrix24)"
    ),
    "bitrix24_no_auth_found": _(
        "the stored authorisation was not accepted; a person must connect the Bitrix24 app "
        "again (Admin → Connect Bitrix24)"
    ),
    "bitrix24_insufficient_scope": _(
        "the app needs the `pull` scope; a person must connect the Bitrix24 app again "
        "(Admin → Connect Bitrix24)"
    ),
    "bitrix24_needs_attention": _("the app or the portal needs a person's attention"),
    "bitrix24_still_expired": _(
        "Bitrix24 still answered %(error)s after the token was refreshed; will retry."
    ),
    "bitrix24_not_true": _("Bitrix24 answered result=%(value)s instead of true."),
    "bitrix24_no_call_result": _(
        "Bitrix24's batch answer has no result for this call; the push may have been delivered."
    ),
    "bitrix24_unreadable": _(
        "Bitrix24 accepted the request (HTTP %(status)s) but its answer "
        "cannot be read; the push may have been delivered."
    ),
    "bitrix24_refresh_failed": _(
        "The access token expired and could not be refreshed; nothing was sent. %(reason)s"
    ),
    "bitrix24_oauth_unreachable": _("Bitrix24's OAuth server could not be reached (%(error)s)."),
    "bitrix24_invalid_grant": _(
        "Bitrix24 refused the stored authorisation (invalid_grant): a person must "
        "connect the Bitrix24 app again (Admin → Connect Bitrix24)."
    ),
    "bitrix24_invalid_client": _(
        "Bitrix24 refused BITRIX24_CLIENT_ID or BITRIX24_CLIENT_SECRET "
        "(invalid_client): check them and that the app is installed on the portal."
    ),
    "bitrix24_oauth_refused": _("Bitrix24's OAuth server refused"),
    "bitrix24_oauth_no_tokens": _(
        "Bitrix24's OAuth server answered HTTP %(status)s without tokens."
    ),
    # Why an outbound webhook's URL was not requested (the `reason` of `not_requested`).
    "url_not_https": _("Use an https:// URL (plain http is only allowed while DEBUG is on)."),
    "url_no_host": _("The URL has no host."),
    "url_has_user": _("Put no user or password in the URL: requests are signed with the secret."),
    "url_bad_port": _("The port is not a number from 1 to 65535."),
    "url_localhost": _("localhost is this server: not allowed as an endpoint."),
    "url_private_address": _(
        "%(address)s is a private, loopback or reserved address: not allowed "
        "(OUTBOUND_WEBHOOK_ALLOWED_NETWORKS can allow a network)."
    ),
    "host_unresolved": _("%(host)s does not resolve: %(error)s."),
    "host_private": _(
        "%(host)s resolves to %(address)s, a private, loopback or reserved address: not requested."
    ),
    "json_boolean": _("a boolean"),
    "json_number": _("a number"),
    "json_string": _("a string"),
    "json_array": _("an array"),
    "json_object": _("an object"),
}

_ENCODED = re.compile(
    r"(?:(?P<lead>[^@\n]+?): )?@(?P<code>[a-z0-9_]+)(?: (?P<params>\{.*\}))?", re.DOTALL
)


@dataclass(frozen=True)
class Reason:
    """A stored reason read back: its code and parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    # What the stored text says before the reason (a provider result's code), shown as it is.
    lead: str = ""

    def text(self) -> str:
        """The sentence in the active language."""
        shown = {name: _param_text(name, value) for name, value in self.params.items()}
        sentence = str(SENTENCES[self.code] % shown) if shown else str(SENTENCES[self.code])
        return f"{self.lead}: {sentence}" if self.lead else sentence


def reason_encode(code: str, **params: Any) -> str:
    """The stored form of reason `code` with `params` (JSON values), for a text column."""
    if code not in SENTENCES:
        raise KeyError(f"no sentence for reason {code!r}")
    if not params:
        return f"@{code}"
    return f"@{code} {json.dumps(params, ensure_ascii=False, separators=(',', ':'))}"


def reason_parse(stored: str) -> Reason | None:
    """The reason `stored` encodes, or None for a text that is not one (old rows, a
    provider's own words)."""
    match = _ENCODED.fullmatch(stored or "")
    if match is None or match["code"] not in SENTENCES:
        return None
    try:
        params = json.loads(match["params"]) if match["params"] else {}
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    return Reason(match["code"], params, match["lead"] or "")


def reason_text(stored: str) -> str:
    """What `stored` says, in the active language; a text that is no reason, as it is."""
    parsed = reason_parse(stored)
    if parsed is None:
        return stored
    try:
        return parsed.text()
    except (KeyError, TypeError, ValueError):
        # Parameters its sentence does not take (a row written before the sentence changed):
        # the stored text still says more than an error page would.
        return stored


def reason_code(stored: str) -> str | None:
    """The stable code of `stored`, for machines; None for a text that is no reason."""
    parsed = reason_parse(stored)
    return None if parsed is None else parsed.code


def reason_english(stored: str) -> str:
    """What `stored` says in English, whatever the active language (for machines' bodies)."""
    with override("en"):
        return reason_text(stored)


def reason_for_machines(stored: str) -> dict[str, Any]:
    """`stored` as an outbound webhook carries it: code and parameters, and the English text."""
    parsed = reason_parse(stored)
    return {
        "code": None if parsed is None else parsed.code,
        "params": {} if parsed is None else parsed.params,
        "text": reason_english(stored),
    }


def _param_text(name: str, value: Any) -> Any:
    if name == "channel":
        return Channel(value).label if value in Channel.values else value
    if isinstance(value, str):
        return reason_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and name != "count":
        return number_text(value)
    return value
