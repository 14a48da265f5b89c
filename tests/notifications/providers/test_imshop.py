"""Imshop push: the exact request, and what every documented (and assumed) answer means."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.http import USER_AGENT
from notifications.providers.values import ResultStatus
from notifications.reasons import reason_encode, reason_text
from tests.notifications.providers.conftest import (
    IMSHOP_KEY,
    IMSHOP_URL,
    MAYBE_SENT,
    NEVER_SENT,
    fixture,
    message,
    raises_saying,
    read_in,
    sent_json,
    stored_reads,
    transport_error,
)


def push(delivery_id: int, user_id: str, **content: str):
    content = {"title": "Sale", "body": "Everything -20%", **content}
    return message(delivery_id, user_id, **content)


GROUP = [push(1, "79999999999"), push(2, "customer-2"), push(3, "customer-3")]


def test_a_push_is_posted_with_the_bearer_key_and_the_documented_body(imshop, http):
    http.post(IMSHOP_URL, json=fixture("imshop_success.json"))
    documented = message(
        7,
        "79999999999",
        title="Заголовок уведомления",
        body="Сообщение пользователю",
        deeplink="slug://browse",
    )

    imshop.send([documented])

    request = http.calls[0].request
    assert request.method == "POST"
    assert request.url == IMSHOP_URL
    assert request.headers["Authorization"] == f"Bearer {IMSHOP_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert sent_json(http.calls[0]) == fixture("imshop_request.json")


def test_the_deeplink_is_left_out_when_the_push_has_none(imshop, http):
    http.post(IMSHOP_URL, json={"success": True})

    imshop.send([push(1, "42")])

    assert sent_json(http.calls[0]) == {
        "userIds": ["42"],
        "message": {"title": "Sale", "summary": "Everything -20%"},
    }


def test_success_true_marks_every_user_sent(imshop, http):
    http.post(IMSHOP_URL, json={"success": True})

    outcome = imshop.send(GROUP)

    assert [(r.delivery_id, r.status, r.code, r.message) for r in outcome.results] == [
        (1, ResultStatus.SENT, "", ""),
        (2, ResultStatus.SENT, "", ""),
        (3, ResultStatus.SENT, "", ""),
    ]
    assert outcome.results[0].response == {"status_code": 200, "body": {"success": True}}
    assert outcome.hold_until is None
    assert outcome.quota is None
    assert sent_json(http.calls[0])["userIds"] == ["79999999999", "customer-2", "customer-3"]


def test_integration_is_unavailable_is_retried_for_every_user(imshop, http):
    http.post(IMSHOP_URL, json=fixture("imshop_integration_unavailable.json"))

    outcome = imshop.send(GROUP)

    assert {r.status for r in outcome.results} == {ResultStatus.RETRY}
    assert outcome.results[0].code == "Integration is unavailable"
    assert reason_text(outcome.results[0].message) == (
        "Imshop did not send the push: Integration is unavailable"
    )
    assert outcome.results[0].retry_at is None
    assert outcome.hold_until is None


def test_an_undocumented_success_false_error_is_retried_as_assumed(imshop, http):
    http.post(IMSHOP_URL, json={"success": False, "error": "Something new"})

    outcome = imshop.send(GROUP[:1])

    assert outcome.results[0].status == ResultStatus.RETRY
    assert outcome.results[0].code == "Something new"


def test_a_success_false_bad_request_fails_permanently_as_assumed(imshop, http):
    http.post(IMSHOP_URL, json={"success": False, "error": "Bad Request", "message": "no title"})

    outcome = imshop.send(GROUP[:1])

    assert outcome.results[0].status == ResultStatus.FAILED
    assert (
        reason_text(outcome.results[0].message)
        == "Imshop did not send the push: Bad Request: no title"
    )


def test_a_success_false_unauthorized_is_a_configuration_error_as_assumed(imshop, http):
    http.post(IMSHOP_URL, json={"success": False, "error": "Unauthorized"})

    with raises_saying("IMSHOP_API_KEY"):
        imshop.send(GROUP[:1])


def test_http_400_fails_every_user_with_imshops_own_message(imshop, http):
    http.post(IMSHOP_URL, status=400, json=fixture("imshop_bad_request.json"))

    outcome = imshop.send(GROUP)

    assert {r.status for r in outcome.results} == {ResultStatus.FAILED}
    assert outcome.results[2].code == "Bad Request"
    assert reason_text(outcome.results[2].message) == (
        'Imshop answered HTTP 400: Bad Request: child "userIds" fails because '
        '["userIds" must be an array]'
    )
    assert outcome.results[2].response == {
        "status_code": 400,
        "body": fixture("imshop_bad_request.json"),
    }


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_raises_a_configuration_error_naming_the_settings(imshop, http, status):
    http.post(IMSHOP_URL, status=status, json={"error": "Unauthorized"})

    with pytest.raises(ProviderConfigurationError) as raised:
        imshop.send(GROUP)

    assert reason_text(str(raised.value)) == (
        f"Imshop refused the request (HTTP {status}); check IMSHOP_PUSH_URL and "
        "IMSHOP_API_KEY: Unauthorized"
    )
    assert raised.value.status_code == status
    assert raised.value.response_text == '{"error": "Unauthorized"}'


def test_http_404_is_a_configuration_error_because_the_url_is_wrong(imshop, http):
    http.post(IMSHOP_URL, status=404, body="Not Found")

    with raises_saying("IMSHOP_PUSH_URL"):
        imshop.send(GROUP)


def test_a_redirect_is_not_followed_and_is_a_configuration_error(imshop, http):
    http.post(IMSHOP_URL, status=301, headers={"Location": "https://elsewhere.test/"})

    with raises_saying("HTTP 301"):
        imshop.send(GROUP)

    assert len(http.calls) == 1


def test_429_with_retry_after_seconds_retries_and_holds_for_that_long(imshop, http):
    http.post(IMSHOP_URL, status=429, headers={"Retry-After": "120"}, json={"error": "Too Many"})
    before = datetime.now(UTC)

    outcome = imshop.send(GROUP)

    after = datetime.now(UTC)
    assert {r.status for r in outcome.results} == {ResultStatus.RETRY}
    assert before + timedelta(seconds=120) <= outcome.hold_until <= after + timedelta(seconds=120)
    assert outcome.results[0].retry_at == outcome.hold_until
    assert outcome.results[0].code == "Too Many"


def test_503_with_a_retry_after_date_holds_until_that_date(imshop, http):
    http.post(
        IMSHOP_URL,
        status=503,
        headers={"Retry-After": "Wed, 21 Oct 2037 07:28:00 GMT"},
        body="<html><body>Service Unavailable</body></html>",
        content_type="text/html",
    )

    outcome = imshop.send(GROUP)

    assert outcome.hold_until == datetime(2037, 10, 21, 7, 28, tzinfo=UTC)
    assert outcome.results[1].status == ResultStatus.RETRY
    assert outcome.results[1].retry_at == datetime(2037, 10, 21, 7, 28, tzinfo=UTC)
    assert outcome.results[1].code == "http_503"


def test_429_without_retry_after_holds_for_one_rate_period_but_names_no_retry_time(imshop, http):
    http.post(IMSHOP_URL, status=429)
    before = datetime.now(UTC)

    outcome = imshop.send(GROUP)

    after = datetime.now(UTC)
    assert before + timedelta(seconds=60) <= outcome.hold_until <= after + timedelta(seconds=60)
    assert outcome.results[0].status == ResultStatus.RETRY
    assert outcome.results[0].retry_at is None


def test_http_500_is_retried_without_holding_the_provider(imshop, http):
    http.post(IMSHOP_URL, status=500, json={"error": "Internal Server Error"})

    outcome = imshop.send(GROUP)

    assert {r.status for r in outcome.results} == {ResultStatus.RETRY}
    assert outcome.results[0].code == "Internal Server Error"
    assert outcome.hold_until is None


def test_an_html_error_page_from_a_proxy_is_retried(imshop, http):
    http.post(
        IMSHOP_URL,
        status=502,
        body="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        content_type="text/html",
    )

    outcome = imshop.send(GROUP)

    assert {r.status for r in outcome.results} == {ResultStatus.RETRY}
    assert outcome.results[0].code == "http_502"
    assert reason_text(outcome.results[0].message) == "Imshop answered HTTP 502"
    assert outcome.results[0].response == {
        "status_code": 502,
        "text": "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    }


def test_malformed_json_in_an_accepted_answer_is_unknown(imshop, http):
    http.post(IMSHOP_URL, body='{"success": tru', content_type="application/json")

    outcome = imshop.send(GROUP)

    assert {r.status for r in outcome.results} == {ResultStatus.UNKNOWN}
    assert outcome.results[0].code == "unreadable_answer"


def test_an_accepted_answer_without_a_success_flag_is_unknown(imshop, http):
    http.post(IMSHOP_URL, json={"ok": 1})

    outcome = imshop.send(GROUP)

    assert {r.status for r in outcome.results} == {ResultStatus.UNKNOWN}


@pytest.mark.parametrize(("kind", "code"), NEVER_SENT)
def test_a_request_that_never_left_is_retried(imshop, http, kind, code):
    http.post(IMSHOP_URL, body=transport_error(kind, IMSHOP_URL))

    outcome = imshop.send(GROUP)

    assert [(r.status, r.code) for r in outcome.results] == [(ResultStatus.RETRY, code)] * 3
    assert reason_text(outcome.results[0].message).endswith("nothing was sent.")


@pytest.mark.parametrize(("kind", "code"), MAYBE_SENT)
def test_a_request_that_may_have_arrived_without_an_answer_is_unknown(imshop, http, kind, code):
    http.post(IMSHOP_URL, body=transport_error(kind, IMSHOP_URL))

    outcome = imshop.send(GROUP)

    assert [(r.status, r.code) for r in outcome.results] == [(ResultStatus.UNKNOWN, code)] * 3
    assert reason_text(outcome.results[0].message).endswith("the message may have been delivered.")


def test_read_timeout_names_the_configured_read_timeout(imshop, http):
    http.post(IMSHOP_URL, body=transport_error("read_timeout", IMSHOP_URL))

    outcome = imshop.send(GROUP[:1])

    assert reason_text(outcome.results[0].message) == (
        "push.imshop.test did not answer within 7 s; the message may have been delivered."
    )


def test_a_push_without_a_title_fails_without_a_request(imshop, http):
    outcome = imshop.send([push(1, "42", title="")])

    assert outcome.results[0].status == ResultStatus.FAILED
    assert outcome.results[0].code == "invalid_content"
    assert len(http.calls) == 0


def test_a_user_without_an_id_fails_and_the_others_are_still_sent(imshop, http):
    http.post(IMSHOP_URL, json={"success": True})

    outcome = imshop.send([push(1, "a"), push(2, " "), push(3, "c")])

    assert [r.status for r in outcome.results] == [
        ResultStatus.SENT,
        ResultStatus.FAILED,
        ResultStatus.SENT,
    ]
    assert sent_json(http.calls[0])["userIds"] == ["a", "c"]


def test_a_group_with_different_pushes_is_refused(imshop):
    with pytest.raises(ValueError, match="one push"):
        imshop.send([push(1, "a"), push(2, "b", body="Other text")])


def test_a_group_larger_than_the_batch_size_is_refused(provider_settings):
    from notifications.providers.registry import get_provider

    provider_settings.IMSHOP_BATCH_SIZE = 2
    imshop = get_provider("imshop")

    with pytest.raises(ValueError, match="at most 2"):
        imshop.send(GROUP)


def test_identical_pushes_share_a_request_and_different_ones_do_not(imshop):
    messages = [
        push(1, "a"),
        push(2, "b", body="Hello b"),
        push(3, "c"),
        push(4, "d", deeplink="app://d"),
    ]

    groups = imshop.plan(messages)

    assert [[m.delivery_id for m in group] for group in groups] == [[1, 3], [2], [4]]


def test_the_plan_cuts_identical_pushes_at_the_batch_size(provider_settings):
    from notifications.providers.registry import get_provider

    provider_settings.IMSHOP_BATCH_SIZE = "2"
    imshop = get_provider("imshop")

    groups = imshop.plan([push(n, str(n)) for n in range(1, 6)])

    assert [[m.delivery_id for m in group] for group in groups] == [[1, 2], [3, 4], [5]]


def test_imshop_declares_its_published_limits_and_its_host_as_the_account(imshop):
    assert imshop.limits.batch_size == 1000
    assert imshop.limits.rate == "10/m"
    assert imshop.account == "push.imshop.test"


def test_the_request_is_logged_at_debug_without_the_key(imshop, http, caplog):
    caplog.set_level("DEBUG", logger="notifications.providers")
    http.post(IMSHOP_URL, json={"success": True})

    imshop.send(GROUP)

    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == f"imshop: POST {IMSHOP_URL}"
    assert lines[1].startswith(f"imshop: POST {IMSHOP_URL} answered 200 in ")
    assert all(IMSHOP_KEY not in line for line in lines)


def test_nothing_is_sent_for_an_empty_group(imshop, http):
    assert imshop.send([]).results == []
    assert len(http.calls) == 0


def test_a_stored_refusal_reads_in_the_readers_language_and_keeps_imshops_words(imshop, http):
    http.post(IMSHOP_URL, status=400, json=fixture("imshop_bad_request.json"))

    reads = stored_reads(imshop.send(GROUP))

    words = 'Bad Request: child "userIds" fails because ["userIds" must be an array]'
    assert reads == {
        "en": f"Bad Request: Imshop answered HTTP 400: {words}",
        "ru": f"Bad Request: Imshop ответил HTTP 400: {words}",
    }


def test_a_refused_key_quoted_by_a_pause_reads_in_the_readers_language(imshop, http):
    http.post(IMSHOP_URL, json={"success": False, "error": "Unauthorized"})

    with raises_saying("IMSHOP_API_KEY") as raised:
        imshop.send(GROUP[:1])

    stored = reason_encode("provider_configuration", channel="imshop", error=str(raised.value))
    assert read_in("ru", stored) == (
        "Пуш Imshop: Imshop не отправил пуш: Unauthorized: "
        "проверьте IMSHOP_PUSH_URL и IMSHOP_API_KEY"
    )
