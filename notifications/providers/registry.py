"""Which provider serves which channel: the one place that builds a provider.

`build_provider` is what the dispatch engine calls and `channel_status` is what the admin shows as
"not configured" (and what dispatch checks first); both give a provider the token store it
declares (`Provider.token_store_from_settings`). `get_provider` and `provider_status` take the
store as an argument instead, for tests and scripts that keep tokens elsewhere.
"""

from __future__ import annotations

from typing import Any

from notifications.reasons import reason_text

from .base import Provider
from .bitrix24.provider import Bitrix24Provider
from .exceptions import ProviderConfigurationError
from .imshop import ImshopProvider
from .leadconverter import LeadConverterProvider
from .yandex_market import YandexMarketProvider

PROVIDERS: dict[str, type[Provider]] = {
    provider.channel: provider
    for provider in (
        ImshopProvider,
        LeadConverterProvider,
        YandexMarketProvider,
        Bitrix24Provider,
    )
}


def provider_class(channel: str) -> type[Provider]:
    """The provider class of `channel`, whose class attributes declare the channel's facts."""
    try:
        return PROVIDERS[channel]
    except KeyError:
        raise ValueError(
            f"unknown channel {channel!r}; expected one of {', '.join(PROVIDERS)}"
        ) from None


def get_provider(channel: str, *, token_store: Any = None) -> Provider:
    """The provider for `channel`, from settings, with the given token store (Bitrix24 needs one).

    Raises ProviderConfigurationError naming the missing or invalid setting.
    """
    return provider_class(channel).from_settings(token_store=token_store)


def provider_status(channel: str, *, token_store: Any = None) -> tuple[bool, str]:
    """(configured, reason): whether `channel` can be dispatched to, and if not, why.

    Checks settings only, without a request; a `token_store` given is also asked whether the
    provider is connected.
    """
    provider = provider_class(channel)
    try:
        provider.read_settings()
        provider.limits_from_settings()
    except ProviderConfigurationError as error:
        return False, reason_text(str(error))
    if token_store is not None and (problem := provider.connection_problem(token_store)):
        return False, problem
    return True, ""


def build_provider(channel: str) -> Provider:
    """The provider for `channel` with its own token store; raises ProviderConfigurationError
    naming what is missing."""
    provider = provider_class(channel)
    return get_provider(channel, token_store=provider.token_store_from_settings())


def channel_status(channel: str) -> tuple[bool, str]:
    """(configured, reason): whether campaigns can go out on `channel` now."""
    return provider_status(channel, token_store=provider_class(channel).token_store_from_settings())
