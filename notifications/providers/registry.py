"""Which provider serves which channel, built from Django settings.

`get_provider` is what the dispatch engine calls; `provider_status` is what the admin shows as
"not configured" (and what dispatch checks first).
"""

from __future__ import annotations

from .base import Provider
from .bitrix24 import NOT_CONNECTED, Bitrix24Provider, TokenStore
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


def _provider_class(channel: str) -> type[Provider]:
    try:
        return PROVIDERS[channel]
    except KeyError:
        raise ValueError(
            f"unknown channel {channel!r}; expected one of {', '.join(PROVIDERS)}"
        ) from None


def get_provider(channel: str, *, token_store: TokenStore | None = None) -> Provider:
    """The provider for `channel`, from settings. Bitrix24 needs the store of its OAuth tokens.

    Raises ProviderConfigurationError naming the missing or invalid setting.
    """
    return _provider_class(channel).from_settings(token_store=token_store)


def provider_status(channel: str, *, token_store: TokenStore | None = None) -> tuple[bool, str]:
    """(configured, reason): whether `channel` can be dispatched to, and if not, why.

    Checks settings only, without a request. For Bitrix24, a `token_store` given also checks
    that the app was connected.
    """
    provider = _provider_class(channel)
    try:
        provider.read_settings()
        provider.limits_from_settings()
    except ProviderConfigurationError as error:
        return False, str(error)
    if token_store is not None and channel == Bitrix24Provider.channel and not token_store.get():
        return False, NOT_CONNECTED
    return True, ""
