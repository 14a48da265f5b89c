"""What a provider's exceptions mean to Django and to the dispatch engine."""

from django.core.exceptions import ImproperlyConfigured

from notifications.providers.exceptions import ProviderConfigurationError, ProviderError


def test_a_configuration_error_is_also_improperly_configured_and_a_provider_error():
    error = ProviderConfigurationError("IMSHOP_API_KEY is not set", status_code=401)

    assert isinstance(error, ImproperlyConfigured)
    assert isinstance(error, ProviderError)
    assert (error.status_code, error.response_text) == (401, "")
