"""Per-recipient rendering of message templates, and the checks staff see as form errors.

Templates are written by marketing staff, whom we trust less than code, so the language is
Liquid (python-liquid): it reaches only the plain data we hand it, cannot load or include other
templates, and runs under caps on loop iterations, output size, assigned data and time. Liquid's
own caps do not bound the values a template computes along the way (`(1..1000000000) | join`
builds gigabytes before anything is output), so every range and every filter result is bounded
too: a hostile template fails fast with a template error, in little memory. The context is flat:
the recipient's own fields and their attributes.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any

from django.conf import settings
from liquid import BoundTemplate, Environment, RenderContext, StrictDefaultUndefined, soft_str
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.exceptions import (
    FilterError,
    LiquidError,
    LocalNamespaceLimitError,
    ResourceLimitError,
)
from liquid.filter import flatten

from .models import Channel
from .providers.values import Content

if TYPE_CHECKING:
    from .models import Recipient

TEMPLATE_FIELDS = ("title", "body", "deeplink", "file_uuid", "avatar_url")

# What each channel actually sends; the other fields are neither rendered nor checked for it.
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    Channel.IMSHOP: ("title", "body", "deeplink"),
    Channel.LEADCONVERTER: ("body", "file_uuid"),
    Channel.YANDEX_MARKET: ("body",),
    Channel.BITRIX24: ("body", "avatar_url"),
}

RECIPIENT_FIELDS = ("external_id", "phone", "first_name", "last_name")

YANDEX_MARKET_MAX_TEXT = 4096
MAX_LINK_LENGTH = 2048
# Schemes a push deeplink must never carry: web pages go over https, the rest are attack vectors.
FORBIDDEN_DEEPLINK_SCHEMES = {"http", "javascript", "data", "file", "vbscript", "about", "blob"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")
_TAG_START = re.compile(r"{[{%]")


class RenderError(Exception):
    """A template could not be rendered for a recipient; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Parsing is the one cost no render cap bounds: a longer template field is refused outright.
MAX_TEMPLATE_SOURCE = 10_000
# Python refuses to print an int of more than sys.int_info.default_max_str_digits digits; three
# bits per digit under-counts (log2 10 is 3.32), so an int within this many bits always prints.
_MAX_INT_BITS = 3 * sys.int_info.default_max_str_digits


def _measure(value: object, limit: int) -> int:
    """The size of `value` in characters: nested items count, each item counts one more, an int
    counts about its digits. Counting stops once past `limit`, so it is cheap on huge data."""
    total = 0
    pending = [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            if item.bit_length() > _MAX_INT_BITS:
                return limit + 1
            total += item.bit_length() // 3 + 1
        elif isinstance(item, Mapping):
            total += len(item)
            if total <= limit:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += len(item)
            if total <= limit:
                pending.extend(item)
        else:
            total += 1
    return total


# The growth functions take the arguments of the filter they predict, under the same names.


def _join_growth(left: object, separator: object = " ", **_: object) -> int:
    """Characters `join` adds between the items, known before it runs."""
    count = len(flatten(left)) if isinstance(left, (list, tuple)) else 1
    return max(count - 1, 0) * len(soft_str(separator))


def _replace_growth(val: object, seq: object, sub: object = "") -> int:
    """Characters `replace` adds, known before it runs: each match grows by the difference."""
    text, old, new = soft_str("" if val is None else val), soft_str(seq), soft_str(sub)
    if len(new) <= len(old):
        return 0
    matches = text.count(old) if old else len(text) + 1
    return matches * (len(new) - len(old))


# The filters whose result can be many times the size of their inputs (a 20,000-item list
# joined with a 20,000-character separator): checked before they run, not after.
_GROWTH: dict[str, Callable[..., int]] = {"join": _join_growth, "replace": _replace_growth}


def _bounded_filter(
    name: str, func: Callable[..., Any], *, max_chars: int, max_items: int
) -> Callable[..., Any]:
    """`func`, refusing to make a value over `max_chars` characters or `max_items` items."""
    growth = _GROWTH.get(name)

    def too_big() -> ResourceLimitError:
        return ResourceLimitError(
            f"value limit reached: '{name}' makes a value over {max_chars} characters "
            f"or {max_items} items",
            token=None,
        )

    @wraps(func)
    def bounded(left: object, *args: Any, **kwargs: Any) -> object:
        if growth and _measure(left, max_chars) + growth(left, *args, **kwargs) > max_chars:
            raise too_big()
        try:
            result = func(left, *args, **kwargs)
        except (ArithmeticError, ValueError) as exc:
            # Hostile numbers and text reach Python errors liquid does not wrap: ceil of
            # infinity, modulo by 0.0, base64 that decodes to no text.
            raise FilterError(f"{name}: {exc}", token=None) from exc
        items = len(result) if isinstance(result, (list, tuple)) else 0
        if items > max_items or _measure(result, max_chars) > max_chars:
            raise too_big()
        return result

    return bounded


class _BoundedRange(RangeLiteral):
    """A range literal that refuses to be longer than the loop limit.

    A range is lazy, but `contains` walks it item by item and most filters copy it into a list.
    """

    __slots__ = ()

    def evaluate(self, context: RenderContext) -> range:
        value = super().evaluate(context)
        limit = context.env.loop_iteration_limit
        # Not len(): it overflows on a range of 10**20 items.
        if limit is not None and value.stop - value.start > limit:
            raise ResourceLimitError(
                f"range limit reached: ({value.start}..{value.stop - 1}) has more than "
                f"{limit} items",
                token=self.token,
            )
        return value


def _bound_range_literals(template: BoundTemplate) -> None:
    """Make every `(a..b)` in `template` a _BoundedRange.

    Liquid builds range literals in parse functions an environment cannot replace, so they are
    swapped after parsing; the walk is the one liquid's own static analysis makes.
    """
    static_context = RenderContext(template)
    nodes = list(template.nodes)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children(static_context, include_partials=False))
        expressions = list(node.expressions())
        while expressions:
            expression = expressions.pop()
            expressions.extend(expression.children())
            if type(expression) is RangeLiteral:
                expression.__class__ = _BoundedRange


class _SandboxContext(RenderContext):
    """A render context with a deadline, and cycle state counted as assigned data."""

    __slots__ = ("_cycle_size", "_deadline")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = time.monotonic() + self.env.render_seconds
        self._cycle_size = 0

    @contextmanager
    def loop(self, namespace: Mapping[str, object], forloop: Any) -> Iterator[RenderContext]:
        # Each iteration checks the clock; between iterations runs at most the loop body, which
        # MAX_TEMPLATE_SOURCE keeps short.
        forloop.it = self._until_deadline(forloop.it)
        with super().loop(namespace, forloop) as context:
            yield context

    def _until_deadline(self, items: Iterator[Any]) -> Iterator[Any]:
        for item in items:
            if time.monotonic() > self._deadline:
                raise ResourceLimitError(
                    f"time limit reached: rendering took over {self.env.render_seconds} s",
                    token=None,
                )
            yield item

    def cycle(self, key: object, length: int) -> int:
        # Liquid keeps a counter per distinct cycle key for the whole render, and a key can be
        # any value the template computes.
        if key not in self.tag_namespace["cycles"]:
            self._cycle_size += sys.getsizeof(key)
            if self.get_size_of_locals() > self.env.local_namespace_limit:
                raise LocalNamespaceLimitError("local namespace limit reached", token=None)
        return super().cycle(key, length)

    def get_size_of_locals(self) -> int:
        return super().get_size_of_locals() + self._cycle_size


class _SandboxTemplate(BoundTemplate):
    context_class = _SandboxContext


class _SandboxEnvironment(Environment):
    """Liquid without the tags that reach other templates, and with resource caps."""

    context_depth_limit = 30
    local_namespace_limit = 200_000
    template_class = _SandboxTemplate

    def __init__(self, *, max_output: int, max_loop_iterations: int, max_seconds: float) -> None:
        self.output_stream_limit = max_output
        self.loop_iteration_limit = max_loop_iterations
        self.render_seconds = max_seconds
        super().__init__(undefined=StrictDefaultUndefined)
        for tag in ("include", "render"):
            self.tags.pop(tag, None)
        # No value a template computes needs to be longer than the text it may output, or a list
        # longer than a loop may walk.
        self.filters = {
            name: _bounded_filter(name, func, max_chars=max_output, max_items=max_loop_iterations)
            for name, func in self.filters.items()
        }

    def from_string(self, *args: Any, **kwargs: Any) -> BoundTemplate:
        template = super().from_string(*args, **kwargs)
        _bound_range_literals(template)
        return template


@lru_cache(maxsize=1)
def _environment(
    max_output: int, max_loop_iterations: int, max_seconds: float
) -> _SandboxEnvironment:
    return _SandboxEnvironment(
        max_output=max_output, max_loop_iterations=max_loop_iterations, max_seconds=max_seconds
    )


def _env() -> _SandboxEnvironment:
    return _environment(
        settings.VESTNIK_RENDER_MAX_OUTPUT,
        settings.VESTNIK_RENDER_MAX_LOOP_ITERATIONS,
        settings.VESTNIK_RENDER_MAX_SECONDS,
    )


def _error_text(exc: LiquidError) -> str:
    # python-liquid appends a source excerpt on later lines; the first line is the sentence.
    return str(exc).splitlines()[0]


class CompiledTemplate:
    """A template parsed once and rendered for many recipients.

    A field whose text uses no variable renders the same for everyone, so it is rendered once.
    """

    def __init__(self, fields: Mapping[str, str]) -> None:
        env = _env()
        self._templates: dict[str, BoundTemplate] = {}
        self._static: dict[str, str] = {}
        self.variables: set[str] = set()
        self._field_variables: dict[str, set[str]] = {}
        for name in TEMPLATE_FIELDS:
            source = fields.get(name) or ""
            if not _TAG_START.search(source):
                self._static[name] = source.strip()
                continue
            if len(source) > MAX_TEMPLATE_SOURCE:
                raise RenderError(
                    name, f"the template is longer than {MAX_TEMPLATE_SOURCE:,} characters"
                )
            try:
                template = env.from_string(source)
            except LiquidError as exc:
                raise RenderError(name, _error_text(exc)) from exc
            unknown_filters = sorted(set(template.filter_names()) - set(env.filters))
            if unknown_filters:
                raise RenderError(name, f"unknown filter '{unknown_filters[0]}'")
            field_variables = set(template.global_variables())
            self.variables |= field_variables
            self._field_variables[name] = field_variables
            self._templates[name] = template
            if not field_variables:
                self._static[name] = self._render_field(name, {})

    def variables_in(self, fields: Iterable[str]) -> set[str]:
        """The variables that `fields` use: what makes their text differ between recipients."""
        return set().union(*(self._field_variables.get(name, set()) for name in fields))

    def _render_field(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self._templates[name].render(**context).strip()
        except LiquidError as exc:
            raise RenderError(name, _error_text(exc)) from exc

    def render(
        self, context: Mapping[str, Any], *, fields: Iterable[str] = TEMPLATE_FIELDS
    ) -> Content:
        """Render `fields` for one recipient's context; raises RenderError."""
        values = {}
        for name in fields:
            static = self._static.get(name)
            values[name] = static if static is not None else self._render_field(name, context)
        return Content(**values)


@lru_cache(maxsize=256)
def _compile_cached(items: tuple[tuple[str, str], ...]) -> CompiledTemplate:
    return CompiledTemplate(dict(items))


def compile_template(fields: Mapping[str, str]) -> CompiledTemplate:
    """Parse the template fields (cached: campaigns render one template many times)."""
    return _compile_cached(tuple((name, fields.get(name) or "") for name in TEMPLATE_FIELDS))


def template_fields(template: Any) -> dict[str, str]:
    """The template fields of a MessageTemplate (or anything with those attributes)."""
    return {name: getattr(template, name) or "" for name in TEMPLATE_FIELDS}


def recipient_context(recipient: Recipient) -> dict[str, Any]:
    """The flat variables a template sees for one recipient; own fields win over attributes."""
    context = dict(recipient.attributes or {})
    for name in RECIPIENT_FIELDS:
        context[name] = getattr(recipient, name)
    return context


def render_for_channel(
    compiled: CompiledTemplate, channel: str, context: Mapping[str, Any]
) -> Content:
    """Render what `channel` sends and check it; raises RenderError."""
    content = compiled.render(context, fields=CHANNEL_FIELDS[channel])
    errors = content_errors(channel, content)
    if errors:
        field, messages = next(iter(errors.items()))
        raise RenderError(field, messages[0])
    return content


# --- Validation ---------------------------------------------------------------------------


def deeplink_error(link: str) -> str | None:
    """Why `link` is not an acceptable push deeplink, or None."""
    if len(link) > MAX_LINK_LENGTH:
        return f"is longer than {MAX_LINK_LENGTH} characters"
    if _CONTROL_OR_SPACE.search(link):
        return "contains spaces or control characters"
    match = _SCHEME.match(link)
    if not match or len(link) == len(match.group(0)):
        return "must be an app link (myapp://...) or an https:// URL"
    if match.group(1).lower() in FORBIDDEN_DEEPLINK_SCHEMES:
        return f"uses the '{match.group(1)}' scheme; use https:// or an app scheme"
    return None


def https_url_error(url: str) -> str | None:
    """Why `url` is not an acceptable https image URL, or None."""
    if len(url) > MAX_LINK_LENGTH:
        return f"is longer than {MAX_LINK_LENGTH} characters"
    if _CONTROL_OR_SPACE.search(url):
        return "contains spaces or control characters"
    if not re.match(r"^https://[^/?#]+", url, flags=re.IGNORECASE):
        return "must be an https:// URL"
    return None


def file_uuid_error(value: str) -> str | None:
    try:
        uuid.UUID(value)
    except ValueError:
        return "must be a UUID such as db0227be-c7c7-484e-8fa4-de9bcfd4723f"
    return None


_LINK_CHECKS = {"deeplink": deeplink_error, "avatar_url": https_url_error}


def content_errors(channel: str, content: Content) -> dict[str, list[str]]:
    """What stops `content`, rendered for one recipient, from going out on `channel`."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if channel == Channel.IMSHOP:
        if not content.title:
            add("title", "Imshop pushes need a title.")
        if not content.body:
            add("body", "Imshop pushes need a text.")
    elif channel == Channel.YANDEX_MARKET:
        if not content.body:
            add("body", "Yandex Market messages need a text.")
        elif len(content.body) > YANDEX_MARKET_MAX_TEXT:
            add(
                "body",
                f"Yandex Market accepts at most {YANDEX_MARKET_MAX_TEXT} characters; "
                f"this text has {len(content.body)}.",
            )
    elif channel == Channel.LEADCONVERTER:
        if not content.body and not content.file_uuid:
            add("body", "LeadConverter messages need a text, a file UUID, or both.")
    elif channel == Channel.BITRIX24 and not content.body:
        add("body", "Bitrix24 pushes need a text.")

    if "file_uuid" in CHANNEL_FIELDS[channel] and content.file_uuid:
        problem = file_uuid_error(content.file_uuid)
        if problem:
            add("file_uuid", f"File UUID {problem}.")
    for field, check in _LINK_CHECKS.items():
        value = getattr(content, field)
        if field in CHANNEL_FIELDS[channel] and value:
            problem = check(value)
            if problem:
                add(field, f"The link {problem}.")
    return errors


def _literal_prefix(source: str) -> str:
    """The part of a template field before its first tag: fixed for every recipient."""
    match = _TAG_START.search(source)
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
            errors.setdefault(name, []).append(f"Template error: {exc.message}.")
            continue
        over_limit = _sample_limit_error(compiled, name)
        if over_limit:
            errors.setdefault(name, []).append(f"Template error: {over_limit}.")
        unknown = sorted(compiled.variables - known)
        if unknown:
            listed = ", ".join(unknown)
            errors.setdefault(name, []).append(
                f"No recipient has {'this variable' if len(unknown) == 1 else 'these variables'}: "
                f"{listed}. Import a column of that name or fix the spelling."
            )
        if name in _LINK_CHECKS:
            errors.setdefault(name, []).extend(_static_link_errors(name, source))
    if fields.get("file_uuid") and not _TAG_START.search(fields["file_uuid"]):
        problem = file_uuid_error(fields["file_uuid"].strip())
        if problem:
            errors.setdefault("file_uuid", []).append(f"File UUID {problem}.")
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
        return [f"The link is longer than {MAX_LINK_LENGTH} characters."]
    prefix = _literal_prefix(source).strip()
    if prefix == source.strip():
        problem = _LINK_CHECKS[field](prefix)
        return [f"The link {problem}."] if problem else []
    if _CONTROL_OR_SPACE.search(prefix):
        return ["The link contains spaces or control characters."]
    head = prefix.lower()
    # A prefix such as "htt" is undecided until rendered; "http://" is decided already.
    if field == "avatar_url" and not (head.startswith("https://") or "https://".startswith(head)):
        return ["The link must be an https:// URL."]
    match = _SCHEME.match(prefix)
    if field == "deeplink" and match and match.group(1).lower() in FORBIDDEN_DEEPLINK_SCHEMES:
        return [f"The link uses the '{match.group(1)}' scheme; use https:// or an app scheme."]
    return []


def channel_template_errors(channel: str, fields: Mapping[str, str]) -> dict[str, list[str]]:
    """What a template lacks for `channel`, judged from its source (before any recipient)."""
    errors: dict[str, list[str]] = {}
    present = {name: bool((fields.get(name) or "").strip()) for name in TEMPLATE_FIELDS}
    if channel == Channel.IMSHOP:
        if not present["title"]:
            errors["title"] = ["Imshop pushes need a title."]
        if not present["body"]:
            errors["body"] = ["Imshop pushes need a text."]
    elif channel == Channel.LEADCONVERTER:
        if not present["body"] and not present["file_uuid"]:
            errors["body"] = ["LeadConverter messages need a text, a file UUID, or both."]
    elif not present["body"]:
        errors["body"] = [f"{Channel(channel).label} messages need a text."]
    if channel == Channel.YANDEX_MARKET:
        body = fields.get("body") or ""
        if not _TAG_START.search(body) and len(body.strip()) > YANDEX_MARKET_MAX_TEXT:
            errors.setdefault("body", []).append(
                f"Yandex Market accepts at most {YANDEX_MARKET_MAX_TEXT} characters; "
                f"this text has {len(body.strip())}."
            )
    return errors
