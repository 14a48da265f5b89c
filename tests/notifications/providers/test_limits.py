"""Rates and limits: read as Django REST framework reads them, overridden by settings."""

from datetime import timedelta

import pytest

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.limits import Limits, parse_rate
from notifications.providers.registry import get_provider


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("10/m", (10, 60)),
        ("1000/h", (1000, 3600)),
        ("2/s", (2, 1)),
        ("5/s", (5, 1)),
        ("10/min", (10, 60)),
        ("3/day", (3, 86400)),
        (" 7 / H ", (7, 3600)),
    ],
)
def test_a_rate_is_read_like_django_rest_framework_reads_it(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["0/m", "ten/m", "10", "10/w", "-1/s", "", "/m"])
def test_a_rate_that_is_not_a_rate_is_refused(rate):
    with pytest.raises(ValueError, match="is not a rate such as '10/m'"):
        parse_rate(rate)


def test_limits_expose_the_parsed_rate():
    limits = Limits(batch_size=50, rate="2/s", burst=50)

    assert (limits.rate_count, limits.rate_period) == (2, 1)


def test_the_shortest_duration_sends_the_burst_at_once_and_the_rest_at_the_rate():
    assert Limits(batch_size=1000, rate="10/m").min_duration(11) == timedelta(seconds=60)
    assert Limits(batch_size=50, rate="2/s", burst=50).min_duration(150) == timedelta(seconds=50)
    assert Limits(batch_size=50, rate="2/s", burst=50).min_duration(30) == timedelta(0)


@pytest.mark.parametrize(
    ("wrong", "error"),
    [
        ({"batch_size": 0, "rate": "1/s"}, "batch_size and burst must be at least 1"),
        ({"batch_size": 1, "rate": "1/s", "burst": 0}, "batch_size and burst must be at least 1"),
        ({"batch_size": 1, "rate": "1/s", "parallel": 0}, "parallel must be at least 1"),
        ({"batch_size": 1, "rate": "fast"}, "'fast' is not a rate"),
    ],
)
def test_limits_refuse_impossible_values(wrong, error):
    with pytest.raises(ValueError, match=error):
        Limits(**wrong)


def test_the_published_limits_are_the_defaults(provider_settings, token_store):
    declared = {
        channel: get_provider(channel, token_store=token_store).limits
        for channel in ("imshop", "leadconverter", "yandex_market", "bitrix24")
    }

    assert declared == {
        "imshop": Limits(batch_size=1000, rate="10/m"),
        "leadconverter": Limits(batch_size=100, rate="5/s"),
        "yandex_market": Limits(batch_size=1, rate="1000/h", parallel=4, quota_window=3600),
        "bitrix24": Limits(batch_size=50, rate="2/s", burst=50),
    }


def test_every_limit_can_be_overridden_from_settings(provider_settings):
    provider_settings.IMSHOP_RATE = "5/m"
    provider_settings.IMSHOP_BATCH_SIZE = "500"
    provider_settings.IMSHOP_BURST = 3
    provider_settings.IMSHOP_PARALLEL = "1"

    assert get_provider("imshop").limits == Limits(batch_size=500, rate="5/m", burst=3, parallel=1)


def test_an_empty_limit_setting_means_the_default(provider_settings):
    provider_settings.IMSHOP_RATE = ""
    provider_settings.IMSHOP_BURST = ""

    assert get_provider("imshop").limits == Limits(batch_size=1000, rate="10/m")


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        (
            "IMSHOP_RATE",
            "fast",
            "IMSHOP_RATE: 'fast' is not a rate such as '10/m', '1000/h' or '2/s'",
        ),
        ("IMSHOP_BURST", "0", "IMSHOP_BURST must be a whole number of at least 1, not '0'"),
        (
            "IMSHOP_PARALLEL",
            "two",
            "IMSHOP_PARALLEL must be a whole number of at least 1, not 'two'",
        ),
        (
            "IMSHOP_BATCH_SIZE",
            1001,
            "IMSHOP_BATCH_SIZE must be a whole number from 1 to 1000, not 1001",
        ),
        (
            "BITRIX24_BATCH_SIZE",
            51,
            "BITRIX24_BATCH_SIZE must be a whole number from 1 to 50, not 51",
        ),
    ],
)
def test_a_wrong_limit_setting_is_a_configuration_error_naming_it(
    provider_settings, token_store, name, value, error
):
    setattr(provider_settings, name, value)
    channel = "bitrix24" if name.startswith("BITRIX24") else "imshop"

    with pytest.raises(ProviderConfigurationError) as raised:
        get_provider(channel, token_store=token_store)

    assert str(raised.value) == error
