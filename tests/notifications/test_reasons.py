"""A stored reason is a code and its parameters, and reads in the reader's language; any other
text (rows from before the codes, a provider's own words) reads as it was stored."""

import pytest
from django.utils import translation

from notifications.reasons import (
    reason_code,
    reason_encode,
    reason_for_machines,
    reason_parse,
    reason_text,
)


def test_a_reason_reads_in_english_by_default():
    stored = reason_encode("paused_by", who="alice")
    assert reason_text(stored) == "Paused by alice."


def test_the_same_stored_reason_reads_in_russian_for_a_russian_reader():
    stored = reason_encode("paused_by", who="alice")
    with translation.override("ru"):
        assert reason_text(stored) == "Поставлено на паузу: alice."


def test_a_count_takes_the_russian_plural_form_it_needs():
    texts = []
    with translation.override("ru"):
        for count in (1, 3, 5):
            texts.append(reason_text(reason_encode("to_send_again", count=count)))
    assert texts == [
        "1 сообщение к повторной отправке.",
        "3 сообщения к повторной отправке.",
        "5 сообщений к повторной отправке.",
    ]


def test_a_channel_parameter_reads_as_the_channel_name():
    stored = reason_encode("no_address", channel="leadconverter")
    assert reason_text(stored) == "No LeadConverter address."


def test_a_reason_quoted_inside_another_reads_in_the_same_language():
    stored = reason_encode(
        "breaker", channel="leadconverter", count=3, error=reason_encode("no_detail")
    )
    with translation.override("ru"):
        text = reason_text(stored)
    assert text == "LeadConverter: 3 запроса подряд не прошли; последняя ошибка: без подробностей"


def test_a_providers_own_words_inside_a_reason_stay_as_the_provider_gave_them():
    stored = reason_encode("gave_up", count=3, detail="CHAT_NOT_FOUND: чат не найден")
    with translation.override("ru"):
        assert reason_text(stored).endswith("последняя ошибка: CHAT_NOT_FOUND: чат не найден")


def test_a_sentence_stored_before_the_codes_reads_as_it_was_stored():
    with translation.override("ru"):
        assert reason_text("Paused by boss.") == "Paused by boss."
    assert reason_code("Paused by boss.") is None


@pytest.mark.parametrize(
    "stored",
    [
        "@no_such_code",
        '@paused_by {"who":',
        '@paused_by ["x"]',
        "@alice said hi",
    ],
)
def test_a_text_that_only_looks_like_a_code_reads_as_it_is(stored):
    assert reason_parse(stored) is None
    assert reason_text(stored) == stored


@pytest.mark.parametrize(
    "stored", ['@paused_by {"whom":"x"}', '@gave_up {"count":"three","detail":"x"}']
)
def test_a_reason_whose_parameters_its_sentence_does_not_take_reads_as_stored(stored):
    assert reason_text(stored) == stored


def test_the_code_is_stable_whatever_the_readers_language():
    stored = reason_encode("opted_out")
    with translation.override("ru"):
        assert reason_code(stored) == "opted_out"


def test_machines_get_the_code_the_parameters_and_english_text_under_a_russian_request():
    stored = reason_encode("excluded_by", audience="Чёрный список")
    with translation.override("ru"):
        said = reason_for_machines(stored)
    assert said == {
        "code": "excluded_by",
        "params": {"audience": "Чёрный список"},
        "text": "Excluded by Чёрный список.",
    }


def test_a_code_without_a_sentence_is_refused_where_it_is_written():
    with pytest.raises(KeyError):
        reason_encode("paused_by_someone")
