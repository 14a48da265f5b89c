"""The one set of content checks: what each channel accepts, links, lengths, template syntax.

Staff see them as form errors and API clients as a 400 (`message_template_errors` for a
template being saved, `channel_message_errors` for a message about to be sent);
`render_for_channel` applies the same checks to each rendered message
before it goes out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext, ngettext
from liquid.exceptions import ResourceLimitError

from notifications.content.rendering import (
    RECIPIENT_FIELDS,
    TAG_START,
    TEMPLATE_FIELDS,
    CompiledTemplate,
    RenderError,
)
from notifications.models import Campaign, MessageTemplate
from notifications.providers.base import Provider
from notifications.providers.registry import provider_class
from notifications.providers.values import Content
from notifications.recipients.selectors import recipient_attribute_names

MAX_LINK_LENGTH = 2048


# Schemes a push deeplink must never carry: web pages go over https, the rest are attack vectors.
FORBIDDEN_DEEPLINK_SCHEMES = {"http", "javascript", "data", "file", "vbscript", "about", "blob"}


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _link_too_long() -> str:
    return gettext("The link is longer than %(count)s characters.") % {"count": MAX_LINK_LENGTH}


def _link_scheme_forbidden(scheme: str) -> str:
    return gettext("The link uses the '%(scheme)s' scheme; use https:// or an app scheme.") % {
        "scheme": scheme
    }


def deeplink_error(link: str) -> str | None:
    """Why `link` is not an acceptable push deeplink, as a sentence, or None."""
    if len(link) > MAX_LINK_LENGTH:
        return _link_too_long()
    if _CONTROL_OR_SPACE.search(link):
        return gettext("The link contains spaces or control characters.")
    match = _SCHEME.match(link)
    if not match or len(link) == len(match.group(0)):
        return gettext("The link must be an app link (myapp://...) or an https:// URL.")
    if match.group(1).lower() in FORBIDDEN_DEEPLINK_SCHEMES:
        return _link_scheme_forbidden(match.group(1))
    return None


def https_url_error(url: str) -> str | None:
    """Why `url` is not an acceptable https image URL, as a sentence, or None."""
    if len(url) > MAX_LINK_LENGTH:
        return _link_too_long()
    if _CONTROL_OR_SPACE.search(url):
        return gettext("The link contains spaces or control characters.")
    if not re.match(r"^https://[^/?#]+", url, flags=re.IGNORECASE):
        return gettext("The link must be an https:// URL.")
    return None


def file_uuid_error(value: str) -> str | None:
    try:
        uuid.UUID(value)
    except ValueError:
        return gettext("File UUID must be a UUID such as db0227be-c7c7-484e-8fa4-de9bcfd4723f.")
    return None


_LINK_CHECKS = {"deeplink": deeplink_error, "avatar_url": https_url_error}


def _too_long(provider: type[Provider], text: str) -> str:
    length = provider.text_length(text)
    return ngettext(
        "%(vendor)s accepts at most %(most)s characters; this text has %(count)s.",
        "%(vendor)s accepts at most %(most)s characters; this text has %(count)s.",
        length,
    ) % {"vendor": provider.vendor, "most": provider.max_text_length, "count": length}


def content_errors(channel: str, content: Content) -> dict[str, list[str]]:
    """What stops `content`, rendered for one recipient, from going out on `channel`."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    provider = provider_class(channel)
    for need in provider.unmet_needs(content):
        add(need.fields[0], need.sentence)
    if content.body and provider.text_too_long(content.body):
        add("body", _too_long(provider, content.body))

    if "file_uuid" in provider.content_fields and content.file_uuid:
        problem = file_uuid_error(content.file_uuid)
        if problem:
            add("file_uuid", problem)
    for field, check in _LINK_CHECKS.items():
        value = getattr(content, field)
        if field in provider.content_fields and value:
            problem = check(value)
            if problem:
                add(field, problem)
    return errors


def _literal_prefix(source: str) -> str:
    """The part of a template field before its first tag: fixed for every recipient."""
    match = TAG_START.search(source)
    return source[: match.start()] if match else source


def template_errors(
    fields: Mapping[str, str], *, known_variables: Iterable[str]
) -> dict[str, list[str]]:
    """Errors in the template itself, whatever the channel: syntax, unknown variables, links."""
    errors: dict[str, list[str]] = {}
    known = set(RECIPIENT_FIELDS) | set(known_variables)
    for name in TEMPLATE_FIELDS:
        source = fields.get(name) or ""
        if not source:
            continue
        try:
            compiled = CompiledTemplate({name: source})
        except RenderError as exc:
            errors.setdefault(name, []).append(
                gettext("Template error: %(problem)s.") % {"problem": exc.message}
            )
            continue
        over_limit = _sample_limit_error(compiled, name)
        if over_limit:
            errors.setdefault(name, []).append(
                gettext("Template error: %(problem)s.") % {"problem": over_limit}
            )
        unknown = sorted(compiled.variables - known)
        if unknown:
            listed = ", ".join(unknown)
            errors.setdefault(name, []).append(
                ngettext(
                    "No recipient has this variable: %(names)s. "
                    "Import a column of that name or fix the spelling.",
                    "No recipient has these variables: %(names)s. "
                    "Import a column of that name or fix the spelling.",
                    len(unknown),
                )
                % {"names": listed}
            )
        if name in _LINK_CHECKS:
            errors.setdefault(name, []).extend(_static_link_errors(name, source))
    if fields.get("file_uuid") and not TAG_START.search(fields["file_uuid"]):
        problem = file_uuid_error(fields["file_uuid"].strip())
        if problem:
            errors.setdefault("file_uuid", []).append(problem)
    return {field: messages for field, messages in errors.items() if messages}


def _sample_limit_error(compiled: CompiledTemplate, field: str) -> str | None:
    """The resource cap `field` hits when every variable it uses is empty text, or None.

    A field without variables was rendered when compiled; this catches a hostile field that also
    names a variable before any recipient gets it. Other errors depend on real recipients' data
    and are left to them.
    """
    try:
        compiled.render(dict.fromkeys(compiled.variables, ""), fields=(field,))
    except RenderError as exc:
        if isinstance(exc.__cause__, ResourceLimitError):
            return exc.message
    return None


def _static_link_errors(field: str, source: str) -> list[str]:
    """Check what is fixed in a link template; the rest is checked for each recipient."""
    if len(source) > MAX_LINK_LENGTH:
        return [_link_too_long()]
    prefix = _literal_prefix(source).strip()
    if prefix == source.strip():
        problem = _LINK_CHECKS[field](prefix)
        return [problem] if problem else []
    if _CONTROL_OR_SPACE.search(prefix):
        return [gettext("The link contains spaces or control characters.")]
    head = prefix.lower()
    # A prefix such as "htt" is undecided until rendered; "http://" is decided already.
    if field == "avatar_url" and not (head.startswith("https://") or "https://".startswith(head)):
        return [gettext("The link must be an https:// URL.")]
    match = _SCHEME.match(prefix)
    if field == "deeplink" and match and match.group(1).lower() in FORBIDDEN_DEEPLINK_SCHEMES:
        return [_link_scheme_forbidden(match.group(1))]
    return []


def channel_template_errors(channel: str, fields: Mapping[str, str]) -> dict[str, list[str]]:
    """What a template lacks for `channel`, judged from its source (before any recipient)."""
    errors: dict[str, list[str]] = {}
    provider = provider_class(channel)
    present = {name for name in TEMPLATE_FIELDS if (fields.get(name) or "").strip()}
    for need in provider.content_needs:
        if not need.met_by(present):
            errors.setdefault(need.fields[0], []).append(need.sentence)
    body = (fields.get("body") or "").strip()
    # A body with tags is measured for each recipient, once rendered.
    if not TAG_START.search(body) and provider.text_too_long(body):
        errors.setdefault("body", []).append(_too_long(provider, body))
    return errors


def channel_message_errors(channel: str, fields: Mapping[str, str]) -> dict[str, list[str]]:
    """What stops `fields`, a template's or a message's literal content, from going out on
    `channel`, judged before any recipient: errors in the template itself, then the channel's."""
    errors = template_errors(fields, known_variables=recipient_attribute_names())
    for field, messages in channel_template_errors(channel, fields).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def message_template_errors(
    fields: Mapping[str, str], *, template: MessageTemplate | None
) -> dict[str, list[str]]:
    """What stops `fields` from being saved as `template` (None for a new one): errors in the
    template itself, and what the channel of each draft campaign using it would refuse."""
    errors = template_errors(fields, known_variables=recipient_attribute_names())
    if template is None or template.pk is None:
        return errors
    # Dispatched campaigns froze their content; only drafts follow template edits.
    drafts = template.campaigns.filter(status=Campaign.Status.DRAFT)
    for channel in sorted(set(drafts.values_list("channel", flat=True))):
        for field, messages in channel_template_errors(channel, fields).items():
            errors.setdefault(field, []).extend(
                gettext("%(problem)s (a draft campaign on this channel uses it)")
                % {"problem": message}
                for message in messages
            )
    return errors


def render_for_channel(
    compiled: CompiledTemplate, channel: str, context: Mapping[str, Any]
) -> Content:
    """Render what `channel` sends and check it; raises RenderError."""
    content = compiled.render(context, fields=provider_class(channel).content_fields)
    errors = content_errors(channel, content)
    if errors:
        field, messages = next(iter(errors.items()))
        raise RenderError(field, messages[0])
    return content
