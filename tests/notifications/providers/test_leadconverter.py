"""LeadConverter sendMessageBatch: the exact request, and the assumed reading of its answers."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.http import USER_AGENT
from notifications.providers.leadconverter import Interpretation, interpret_answer
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from notifications.reasons import reason_text
from tests.notifications.providers.conftest import (
    LEADCONVERTER_TOKEN,
    LEADCONVERTER_URL,
    MAYBE_SENT,
    NEVER_SENT,
    fixture,
    message,
    sent_json,
    stored_reads,
    transport_error,
)

FILE_1 = "db0227be-c7c7-484e-8fa4-de9bcfd4723f"
FILE_2 = "26a2a5d1-37fc-4050-b0dc-67d9817cf476"
DOCUMENTED = [
    message(11, "1", file_uuid=FILE_1),
    message(12, "2", body="Привет, это пример отправки текста и файла", file_uuid=FILE_2),
    message(13, "3", body="Привет, это пример отправки только текста"),
]


def test_the_batch_is_posted_to_the_token_url_in_the_documented_shape(leadconverter, http):
    http.post(LEADCONVERTER_URL, json={"success": True})

    leadconverter.send(DOCUMENTED)

    request = http.calls[0].request
    assert request.method == "POST"
    assert request.url == LEADCONVERTER_URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert "Authorization" not in request.headers
    assert sent_json(http.calls[0]) == fixture("leadconverter_request.json")


def test_a_json_answer_without_an_error_marks_every_item_sent(leadconverter, http):
    http.post(LEADCONVERTER_URL, json={"status": "ok"})

    outcome = leadconverter.send(DOCUMENTED)

    assert [(r.delivery_id, r.status) for r in outcome.results] == [
        (11, ResultStatus.SENT),
        (12, ResultStatus.SENT),
        (13, ResultStatus.SENT),
    ]
    assert outcome.results[0].response == {"status_code": 200, "body": {"status": "ok"}}


def test_a_json_error_in_an_accepted_answer_fails_the_whole_batch(leadconverter, http):
    http.post(LEADCONVERTER_URL, json={"error": "bot_not_found", "message": "No such bot"})

    outcome = leadconverter.send(DOCUMENTED)

    assert {r.status for r in outcome.results} == {ResultStatus.FAILED}
    assert outcome.results[0].code == "bot_not_found"
    assert reason_text(outcome.results[0].message) == (
        "LeadConverter refused the batch: bot_not_found: No such bot"
    )


def test_success_false_fails_the_whole_batch(leadconverter, http):
    http.post(LEADCONVERTER_URL, json={"success": False})

    outcome = leadconverter.send(DOCUMENTED)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.FAILED, "success_false")}


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_a_configuration_error_without_the_token(leadconverter, http, status):
    http.post(LEADCONVERTER_URL, status=status, json={"error": f"bad token {LEADCONVERTER_TOKEN}"})

    with pytest.raises(ProviderConfigurationError) as raised:
        leadconverter.send(DOCUMENTED)

    assert reason_text(str(raised.value)) == (
        f"LeadConverter answered HTTP {status}: bad token [redacted]; check LEADCONVERTER_TOKEN"
    )
    assert LEADCONVERTER_TOKEN not in raised.value.response_text


def test_another_4xx_fails_the_batch_permanently(leadconverter, http):
    http.post(LEADCONVERTER_URL, status=422, json={"error": "invalid_batch"})

    outcome = leadconverter.send(DOCUMENTED)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.FAILED, "invalid_batch")}


def test_429_with_retry_after_retries_and_holds(leadconverter, http):
    http.post(LEADCONVERTER_URL, status=429, headers={"Retry-After": "3"})
    before = datetime.now(UTC)

    outcome = leadconverter.send(DOCUMENTED)

    after = datetime.now(UTC)
    assert {r.status for r in outcome.results} == {ResultStatus.RETRY}
    assert before + timedelta(seconds=3) <= outcome.hold_until <= after + timedelta(seconds=3)
    assert outcome.results[0].retry_at == outcome.hold_until


def test_503_without_retry_after_holds_for_one_second_the_assumed_rate_period(leadconverter, http):
    http.post(LEADCONVERTER_URL, status=503)
    before = datetime.now(UTC)

    outcome = leadconverter.send(DOCUMENTED)

    after = datetime.now(UTC)
    assert before + timedelta(seconds=1) <= outcome.hold_until <= after + timedelta(seconds=1)
    assert outcome.results[0].retry_at is None
    assert outcome.results[0].code == "http_503"


def test_http_500_is_retried(leadconverter, http):
    http.post(LEADCONVERTER_URL, status=500, json={"error": "internal"})

    outcome = leadconverter.send(DOCUMENTED)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.RETRY, "internal")}
    assert outcome.hold_until is None


def test_an_html_error_page_is_retried(leadconverter, http):
    http.post(LEADCONVERTER_URL, status=504, body="<html>Gateway Timeout</html>")

    outcome = leadconverter.send(DOCUMENTED)

    assert {(r.status, r.code) for r in outcome.results} == {(ResultStatus.RETRY, "http_504")}


def test_malformed_json_in_an_accepted_answer_is_unknown(leadconverter, http):
    http.post(LEADCONVERTER_URL, body="{not json", content_type="application/json")

    outcome = leadconverter.send(DOCUMENTED)

    assert {(r.status, r.code) for r in outcome.results} == {
        (ResultStatus.UNKNOWN, "unreadable_answer")
    }


@pytest.mark.parametrize(("kind", "code"), NEVER_SENT)
def test_a_request_that_never_left_is_retried(leadconverter, http, kind, code):
    http.post(LEADCONVERTER_URL, body=transport_error(kind, LEADCONVERTER_URL))

    outcome = leadconverter.send(DOCUMENTED)

    assert [(r.status, r.code) for r in outcome.results] == [(ResultStatus.RETRY, code)] * 3


@pytest.mark.parametrize(("kind", "code"), MAYBE_SENT)
def test_a_request_that_may_have_arrived_without_an_answer_is_unknown(
    leadconverter, http, kind, code
):
    http.post(LEADCONVERTER_URL, body=transport_error(kind, LEADCONVERTER_URL))

    outcome = leadconverter.send(DOCUMENTED)

    assert [(r.status, r.code) for r in outcome.results] == [(ResultStatus.UNKNOWN, code)] * 3


def test_an_item_without_text_or_file_stays_out_of_the_batch_and_fails(leadconverter, http):
    http.post(LEADCONVERTER_URL, json={})

    outcome = leadconverter.send([message(1, "5", body="Hi"), message(2, "6"), DOCUMENTED[0]])

    assert [(r.status, r.code) for r in outcome.results] == [
        (ResultStatus.SENT, ""),
        (ResultStatus.FAILED, "invalid_content"),
        (ResultStatus.SENT, ""),
    ]
    assert sent_json(http.calls[0]) == {
        "batch": [{"subscriber_id": 5, "text": "Hi"}, {"subscriber_id": 1, "file_uuid": FILE_1}]
    }


def test_a_subscriber_id_that_is_not_a_number_fails_without_a_request(leadconverter, http):
    outcome = leadconverter.send([message(1, "abc", body="Hi")])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.FAILED,
        "invalid_address",
    )
    assert len(http.calls) == 0


def test_the_plan_cuts_messages_into_chunks_of_the_batch_size(leadconverter):
    messages = [message(n, str(n), body=f"text {n}") for n in range(1, 251)]

    groups = leadconverter.plan(messages)

    assert [len(group) for group in groups] == [100, 100, 50]
    assert [m.delivery_id for group in groups for m in group] == list(range(1, 251))


def test_a_group_larger_than_100_items_is_refused(leadconverter):
    with pytest.raises(ValueError, match="at most 100"):
        leadconverter.send([message(n, str(n), body="x") for n in range(1, 102)])


def test_the_batch_size_can_be_lowered_but_not_raised_above_100(provider_settings):
    provider_settings.LEADCONVERTER_BATCH_SIZE = 30
    assert get_provider("leadconverter").limits.batch_size == 30

    provider_settings.LEADCONVERTER_BATCH_SIZE = 101
    with pytest.raises(ProviderConfigurationError) as raised:
        get_provider("leadconverter")
    assert (
        str(raised.value)
        == "LEADCONVERTER_BATCH_SIZE must be a whole number from 1 to 100, not 101"
    )


def test_the_assumed_rate_is_five_a_second_and_a_setting(provider_settings):
    assert get_provider("leadconverter").limits.rate == "5/s"

    provider_settings.LEADCONVERTER_RATE = "20/s"
    assert get_provider("leadconverter").limits.rate_count == 20


def test_the_token_never_appears_in_the_debug_log(leadconverter, http, caplog):
    caplog.set_level("DEBUG")
    http.post(LEADCONVERTER_URL, json={})

    leadconverter.send(DOCUMENTED)

    lines = [record.getMessage() for record in caplog.records]
    shown = "https://leadconverter.test/api/v1/[redacted]/broadcasting.sendMessageBatch"
    assert lines[0] == f"leadconverter: POST {shown}"
    assert all("s3cr3t" not in line for line in lines)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"result": "queued"}, Interpretation("sent")),
        (200, [], Interpretation("sent")),
        (200, None, Interpretation("unknown", "unreadable_answer")),
        (200, {"error": {"code": "E1", "message": "bad"}}, Interpretation("failed", "E1")),
        (429, None, Interpretation("hold", "http_429")),
        (502, None, Interpretation("retry", "http_502")),
        (422, {"error": "not_found"}, Interpretation("failed", "not_found")),
        (404, {"error": "Method not found"}, Interpretation("configuration", "Method not found")),
        (401, None, Interpretation("configuration", "http_401")),
    ],
)
def test_the_assumed_reading_of_answers_in_one_place(status, body, expected):
    meaning = interpret_answer(status, body)

    assert (meaning.verdict, meaning.code) == (expected.verdict, expected.code)


def test_a_stored_refusal_reads_in_the_readers_language_and_keeps_leadconverters_words(
    leadconverter, http
):
    http.post(LEADCONVERTER_URL, json={"error": "bot_not_found", "message": "Бот не найден"})

    reads = stored_reads(leadconverter.send(DOCUMENTED))

    assert reads == {
        "en": "bot_not_found: LeadConverter refused the batch: bot_not_found: Бот не найден",
        "ru": "bot_not_found: LeadConverter отклонил пакет: bot_not_found: Бот не найден",
    }


def test_a_refusal_without_words_says_no_reason_was_given_in_the_readers_language(
    leadconverter, http
):
    http.post(LEADCONVERTER_URL, json={"success": False})

    reads = stored_reads(leadconverter.send(DOCUMENTED))

    assert reads == {
        "en": "success_false: LeadConverter refused the batch: no reason given",
        "ru": "success_false: LeadConverter отклонил пакет: причина не указана",
    }


def test_an_item_without_content_is_refused_in_the_readers_language(leadconverter, http):
    reads = stored_reads(leadconverter.send([message(1, "5")]))

    assert reads["en"] == (
        "invalid_content: LeadConverter messages need a text, a file UUID, or both."
    )
    assert reads["ru"].startswith("invalid_content: Для сообщений LeadConverter нужен")
    assert len(http.calls) == 0
