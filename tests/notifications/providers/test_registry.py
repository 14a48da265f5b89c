"""Building providers from settings, and the "not configured" status the admin shows."""

import pytest

from notifications.providers.bitrix24.provider import Bitrix24Provider
from notifications.providers.bitrix24.tokens import (
    NOT_CONNECTED,
    DatabaseTokenStore,
    MemoryTokenStore,
    Tokens,
)
from notifications.providers.imshop import ImshopProvider
from notifications.providers.leadconverter import LeadConverterProvider
from notifications.providers.registry import (
    build_provider,
    channel_status,
    get_provider,
    provider_status,
)
from notifications.providers.yandex_market import YandexMarketProvider

REQUIRED = [
    ("imshop", "IMSHOP_PUSH_URL"),
    ("imshop", "IMSHOP_API_KEY"),
    ("leadconverter", "LEADCONVERTER_API_URL"),
    ("leadconverter", "LEADCONVERTER_TOKEN"),
    ("yandex_market", "YANDEX_MARKET_API_URL"),
    ("yandex_market", "YANDEX_MARKET_API_KEY"),
    ("yandex_market", "YANDEX_MARKET_BUSINESS_ID"),
    ("bitrix24", "BITRIX24_PORTAL_URL"),
    ("bitrix24", "BITRIX24_CLIENT_ID"),
    ("bitrix24", "BITRIX24_CLIENT_SECRET"),
    ("bitrix24", "BITRIX24_OAUTH_URL"),
]


def test_each_channel_gets_its_provider(provider_settings, token_store):
    built = {
        channel: type(get_provider(channel, token_store=token_store))
        for channel in ("imshop", "leadconverter", "yandex_market", "bitrix24")
    }

    assert built == {
        "imshop": ImshopProvider,
        "leadconverter": LeadConverterProvider,
        "yandex_market": YandexMarketProvider,
        "bitrix24": Bitrix24Provider,
    }


def test_each_provider_names_its_rate_limit_account_without_a_secret(
    provider_settings, token_store
):
    accounts = {
        channel: get_provider(channel, token_store=token_store).account
        for channel in ("imshop", "leadconverter", "yandex_market", "bitrix24")
    }

    assert accounts == {
        "imshop": "push.imshop.test",
        "leadconverter": "leadconverter.test",
        "yandex_market": "777",
        "bitrix24": "portal.bitrix24.test",
    }


@pytest.mark.parametrize(("channel", "name"), REQUIRED)
def test_a_missing_setting_is_named_in_the_error(provider_settings, token_store, channel, name):
    from notifications.providers.exceptions import ProviderConfigurationError

    setattr(provider_settings, name, "")

    with pytest.raises(ProviderConfigurationError) as raised:
        get_provider(channel, token_store=token_store)

    assert str(raised.value) == f"{name} is not set"


@pytest.mark.parametrize(("channel", "name"), REQUIRED)
def test_the_status_says_which_setting_is_missing(provider_settings, channel, name):
    setattr(provider_settings, name, "")

    assert provider_status(channel) == (False, f"{name} is not set")


def test_a_configured_channel_reports_no_reason(provider_settings):
    assert provider_status("yandex_market") == (True, "")


def test_the_leadconverter_url_has_a_default(settings):
    settings.LEADCONVERTER_TOKEN = "t"
    del settings.LEADCONVERTER_API_URL

    assert get_provider("leadconverter").url == (
        "https://leadconverter.ru/api/v1/t/broadcasting.sendMessageBatch"
    )


def test_bitrix24_is_not_configured_until_the_app_is_connected(provider_settings, token_store):
    assert provider_status("bitrix24") == (True, "")
    assert provider_status("bitrix24", token_store=token_store) == (True, "")
    assert provider_status("bitrix24", token_store=MemoryTokenStore()) == (
        False,
        "Bitrix24 is not connected: a person must connect the app (Admin → Connect Bitrix24)",
    )


def test_an_unknown_channel_is_a_value_error():
    with pytest.raises(ValueError, match="unknown channel 'sms'"):
        get_provider("sms")
    with pytest.raises(ValueError, match="unknown channel 'sms'"):
        provider_status("sms")


@pytest.mark.django_db
def test_built_for_dispatch_bitrix24_gets_its_tokens_from_the_database(provider_settings):
    provider = build_provider("bitrix24")

    assert isinstance(provider.token_store, DatabaseTokenStore)
    assert provider.token_store.portal == "portal.bitrix24.test"


@pytest.mark.django_db
def test_the_channel_status_of_bitrix24_asks_the_database_whether_it_is_connected(
    provider_settings,
):
    assert channel_status("bitrix24") == (False, NOT_CONNECTED)

    DatabaseTokenStore("portal.bitrix24.test").save(Tokens("access", "refresh"))

    assert channel_status("bitrix24") == (True, "")


def test_channels_without_a_token_store_are_built_without_one(provider_settings):
    assert type(build_provider("imshop")) is ImshopProvider
    assert channel_status("leadconverter") == (True, "")
