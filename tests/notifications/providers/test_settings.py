"""Provider settings: timeouts and URLs, each refused with the setting's name."""

import pytest
from django.utils import translation

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import get_provider, provider_class


def test_the_timeouts_default_to_5_seconds_to_connect_and_30_to_read(provider_settings):
    del provider_settings.PROVIDER_CONNECT_TIMEOUT
    del provider_settings.PROVIDER_READ_TIMEOUT

    assert get_provider("imshop").http.timeout == (5.0, 30.0)


def test_the_timeouts_come_from_settings(provider_settings):
    provider_settings.PROVIDER_CONNECT_TIMEOUT = "1.5"
    provider_settings.PROVIDER_READ_TIMEOUT = 12

    assert get_provider("imshop").http.timeout == (1.5, 12.0)


def test_a_timeout_that_is_not_positive_is_a_configuration_error(provider_settings):
    provider_settings.PROVIDER_READ_TIMEOUT = 0

    with pytest.raises(ProviderConfigurationError, match=r"^PROVIDER_READ_TIMEOUT must be"):
        get_provider("imshop")


def test_a_plain_http_url_is_refused_because_it_would_expose_the_key(provider_settings):
    provider_settings.IMSHOP_PUSH_URL = "http://push.imshop.test/api/push"

    with pytest.raises(ProviderConfigurationError) as raised:
        get_provider("imshop")

    assert str(raised.value) == "IMSHOP_PUSH_URL must be an https:// URL"


def test_plain_http_to_this_machine_is_allowed_for_a_local_mock(provider_settings):
    provider_settings.IMSHOP_PUSH_URL = "http://127.0.0.1:8025/push"

    assert get_provider("imshop").push_url == "http://127.0.0.1:8025/push"


def test_a_configuration_error_reads_in_the_language_of_the_moment(provider_settings):
    provider_settings.IMSHOP_PUSH_URL = "http://push.imshop.test/api/push"

    with translation.override("ru"), pytest.raises(ProviderConfigurationError) as raised:
        get_provider("imshop")

    assert str(raised.value) == "IMSHOP_PUSH_URL должен быть адресом https://"


def test_a_content_need_reads_in_the_language_of_the_moment():
    need = provider_class("imshop").content_needs[0]

    with translation.override("ru"):
        assert need.sentence == "Для пушей Imshop нужен заголовок."
    assert need.sentence == "Imshop pushes need a title."
