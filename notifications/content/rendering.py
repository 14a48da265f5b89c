"""Per-recipient rendering of message templates in a sandbox.

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache, wraps
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from liquid import BoundTemplate, Environment, RenderContext, StrictDefaultUndefined, soft_str
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.exceptions import FilterError, LiquidError, LocalNamespaceLimitError, ResourceLimitError
from liquid.filter import flatten

from notifications.formats import number_text
from notifications.models import Recipient
from notifications.providers.values import Content

TEMPLATE_FIELDS = ("title", "body", "deeplink", "file_uuid", "avatar_url")


RECIPIENT_FIELDS = ("external_id", "phone", "first_name", "last_name")

# Where a template field stops being literal text: its first tag or output statement.
TAG_START = re.compile(r"{[{%]")


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
            gettext(
                "value limit reached: '%(filter)s' makes a value over %(chars)s characters "
                "or %(items)s items"
            )
            % {"filter": name, "chars": max_chars, "items": max_items},
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
                gettext("range limit reached: (%(start)s..%(stop)s) has more than %(limit)s items")
                % {"start": value.start, "stop": value.stop - 1, "limit": limit},
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
                    gettext("time limit reached: rendering took over %(seconds)s s")
                    % {"seconds": self.env.render_seconds},
                    token=None,
                )
            yield item

    def cycle(self, key: object, length: int) -> int:
        # Liquid keeps a counter per distinct cycle key for the whole render, and a key can be
        # any value the template computes.
        if key not in self.tag_namespace["cycles"]:
            self._cycle_size += sys.getsizeof(key)
            if self.get_size_of_locals() > self.env.local_namespace_limit:
                raise LocalNamespaceLimitError(gettext("local namespace limit reached"), token=None)
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
            if not TAG_START.search(source):
                self._static[name] = source.strip()
                continue
            if len(source) > MAX_TEMPLATE_SOURCE:
                raise RenderError(
                    name,
                    gettext("the template is longer than %(most)s characters")
                    % {"most": number_text(MAX_TEMPLATE_SOURCE)},
                )
            try:
                template = env.from_string(source)
            except LiquidError as exc:
                raise RenderError(name, _error_text(exc)) from exc
            unknown_filters = sorted(set(template.filter_names()) - set(env.filters))
            if unknown_filters:
                raise RenderError(
                    name, gettext("unknown filter '%(name)s'") % {"name": unknown_filters[0]}
                )
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
