"""Reading a provider's Django settings: each missing or invalid value named in the error.

Missing settings fail when a provider is built (`ProviderConfigurationError`), never mid-send.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from .exceptions import ProviderConfigurationError

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


def setting(name: str, default: Any = "") -> Any:
    """A setting by name; absent or None means `default`."""
    value = getattr(settings, name, None)
    return default if value is None else value


def required_setting(name: str) -> str:
    """A setting that must be non-empty, or ProviderConfigurationError naming it."""
    value = str(setting(name)).strip()
    if not value:
        raise ProviderConfigurationError(_("%(name)s is not set") % {"name": name})
    return value


def url_setting(name: str, default: str = "") -> str:
    """A provider URL setting, checked by `check_url`."""
    return check_url(name, str(setting(name, default)).strip())


def check_url(name: str, value: str) -> str:
    """A provider URL: https, or plain http to this machine (a local mock). Never echoed back,
    as some vendors' URLs may carry a key."""
    if not value:
        raise ProviderConfigurationError(_("%(name)s is not set") % {"name": name})
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # such as an unclosed "[" of an IPv6 address
        raise ProviderConfigurationError(
            _("%(name)s is not a valid URL") % {"name": name}
        ) from None
    local = parts.scheme == "http" and hostname in {"localhost", "127.0.0.1", "::1"}
    if not (parts.scheme == "https" and hostname) and not local:
        raise ProviderConfigurationError(_("%(name)s must be an https:// URL") % {"name": name})
    return value


def int_setting(name: str, default: int | None, maximum: int | None = None) -> int | None:
    """A whole-number setting of at least 1 (and at most `maximum`); absent or empty means
    `default`."""
    value = getattr(settings, name, None)
    if value is None or str(value).strip() == "":
        return default
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1 or (maximum is not None and int(text) > maximum):
        if maximum is None:
            sentence = _("%(name)s must be a whole number of at least 1, not %(value)s")
        else:
            sentence = _("%(name)s must be a whole number from 1 to %(maximum)s, not %(value)s")
        raise ProviderConfigurationError(
            sentence % {"name": name, "maximum": maximum, "value": repr(value)}
        )
    return int(text)


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds from PROVIDER_CONNECT_TIMEOUT and PROVIDER_READ_TIMEOUT."""
    values = []
    for name, default in (
        ("PROVIDER_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
        ("PROVIDER_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
    ):
        try:
            seconds = float(setting(name, default))
        except (TypeError, ValueError):
            seconds = 0.0
        if seconds <= 0:
            raise ProviderConfigurationError(
                _("%(name)s must be a positive number of seconds") % {"name": name}
            )
        values.append(seconds)
    return values[0], values[1]
