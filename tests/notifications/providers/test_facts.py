"""The channel facts each provider class declares, walked through the registry."""

import dataclasses
import importlib
import pkgutil

import pytest
from django.utils import translation

import notifications.providers
from notifications.models import Channel
from notifications.providers.base import Provider
from notifications.providers.facts import MAX_NUMERIC_ADDRESS, AddressKind, ContentNeed
from notifications.providers.registry import PROVIDERS, provider_class
from notifications.providers.values import Content
from tests.support.long_texts import AT_AND_OVER, FAMILY, FLAG, ROCKET

CONTENT_FIELDS = {field.name for field in dataclasses.fields(Content)}


def _every_provider_class() -> set[type[Provider]]:
    for module in pkgutil.walk_packages(
        notifications.providers.__path__, prefix="notifications.providers."
    ):
        importlib.import_module(module.name)
    found, waiting = set(), list(Provider.__subclasses__())
    while waiting:
        cls = waiting.pop()
        found.add(cls)
        waiting.extend(cls.__subclasses__())
    return found


def test_every_provider_class_in_the_package_is_registered_under_its_channel():
    assert _every_provider_class() == set(PROVIDERS.values())
    assert all(channel == cls.channel for channel, cls in PROVIDERS.items())


def test_every_channel_a_campaign_can_choose_has_a_provider_and_no_provider_lacks_one():
    assert set(PROVIDERS) == set(Channel.values)


@pytest.mark.parametrize("channel", Channel.values)
def test_every_channel_declares_the_content_it_sends_and_needs(channel):
    cls = provider_class(channel)

    assert cls.content_fields
    assert set(cls.content_fields) <= CONTENT_FIELDS
    assert cls.content_needs
    for need in cls.content_needs:
        assert isinstance(need, ContentNeed)
        assert need.fields
        assert set(need.fields) <= set(cls.content_fields)
        assert need.sentence.endswith(".")
    assert cls.max_text_length is None or cls.max_text_length > 0


@pytest.mark.parametrize("channel", Channel.values)
def test_every_channel_declares_its_address_and_its_names(channel):
    cls = provider_class(channel)

    assert isinstance(cls.address_kind, AddressKind)
    assert cls.address_kind.label
    # An external_id is any text, so only a channel whose ids are text can default to it.
    assert not (cls.external_id_is_default_address and cls.address_kind.numeric)
    assert cls.vendor
    assert cls.messages_noun.startswith(cls.vendor)
    assert isinstance(cls.one_text_per_request, bool)


def test_each_channel_declares_what_the_product_branched_on_before():
    facts = {
        channel: (
            cls.content_fields,
            cls.max_text_length,
            cls.address_kind,
            cls.external_id_is_default_address,
            cls.one_text_per_request,
            (cls.vendor, cls.messages_noun),
        )
        for channel, cls in PROVIDERS.items()
    }

    assert facts == {
        "imshop": (
            ("title", "body", "deeplink"),
            None,
            AddressKind("Imshop user id", numeric=False),
            True,
            True,
            ("Imshop", "Imshop pushes"),
        ),
        "leadconverter": (
            ("body", "file_uuid"),
            None,
            AddressKind("LeadConverter subscriber_id", numeric=True),
            False,
            False,
            ("LeadConverter", "LeadConverter messages"),
        ),
        "yandex_market": (
            ("body",),
            4096,
            AddressKind("Yandex Market chatId", numeric=True),
            False,
            False,
            ("Yandex Market", "Yandex Market chats"),
        ),
        "bitrix24": (
            ("body", "avatar_url"),
            None,
            AddressKind("Bitrix24 USER_ID", numeric=True),
            False,
            False,
            ("Bitrix24", "Bitrix24 pushes"),
        ),
    }


@pytest.mark.parametrize(
    ("address", "accepted"),
    [
        ("1", True),
        (" 42 ", True),
        (str(MAX_NUMERIC_ADDRESS), True),
        (str(MAX_NUMERIC_ADDRESS + 1), False),
        ("0", False),
        ("-5", False),
        ("12a", False),
        ("", False),
    ],
)
def test_a_numeric_address_is_a_positive_64_bit_whole_number(address, accepted):
    assert AddressKind("chatId", numeric=True).accepts(address) is accepted


@pytest.mark.parametrize(("address", "accepted"), [("customer-7", True), ("  ", False)])
def test_a_text_address_is_anything_but_blank(address, accepted):
    assert AddressKind("user id", numeric=False).accepts(address) is accepted


def test_unmet_needs_are_those_without_any_of_their_fields():
    leadconverter, imshop = provider_class("leadconverter"), provider_class("imshop")

    assert leadconverter.unmet_needs(Content(file_uuid="f")) == []
    assert [need.sentence for need in leadconverter.unmet_needs(Content(title="t"))] == [
        "LeadConverter messages need a text, a file UUID, or both."
    ]
    assert [need.fields for need in imshop.unmet_needs(Content())] == [("title",), ("body",)]


@pytest.mark.parametrize(("made_of", "at", "over"), AT_AND_OVER, ids=[t[0] for t in AT_AND_OVER])
def test_only_a_text_over_the_declared_length_is_too_long(made_of, at, over):
    yandex, bitrix = provider_class("yandex_market"), provider_class("bitrix24")

    assert not yandex.text_too_long(at)
    assert yandex.text_too_long(over)
    assert not bitrix.text_too_long(over * 25)


def test_a_text_is_measured_in_code_points_not_bytes():
    yandex = provider_class("yandex_market")

    assert yandex.text_length("привет") == 6
    assert yandex.text_length(ROCKET) == 1
    assert (yandex.text_length(FAMILY), yandex.text_length(FLAG)) == (5, 2)


@pytest.mark.parametrize(
    ("count", "language", "text"),
    [
        (1, "en", "1 Yandex Market chat"),
        (48_000, "en", "48,000 Yandex Market chats"),
        (1, "ru", "1 чат Yandex Market"),
        (3, "ru", "3 чата Yandex Market"),
        (5, "ru", "5 чатов Yandex Market"),
        (21, "ru", "21 чат Yandex Market"),
        (48_000, "ru", "48\xa0000 чатов Yandex Market"),
    ],
)
def test_a_number_of_messages_takes_the_plural_form_of_that_number(count, language, text):
    with translation.override(language):
        assert provider_class("yandex_market").messages_text(count) == text


@pytest.mark.parametrize("channel", sorted(PROVIDERS))
def test_every_channel_names_one_message_in_the_singular(channel):
    cls = provider_class(channel)
    with translation.override("en"):
        one, two = cls.messages_text(1), cls.messages_text(2)
    assert one.startswith(f"1 {cls.vendor} ")
    assert two == f"2 {one[2:]}{'es' if one.endswith('sh') else 's'}"


def test_an_unknown_channel_has_no_provider_class():
    with pytest.raises(ValueError, match="unknown channel 'sms'"):
        provider_class("sms")
