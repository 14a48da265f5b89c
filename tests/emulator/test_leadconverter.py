"""The LeadConverter emulator: token in the path, at most 100 items, each with a text or a file."""

import pytest

from notifications.providers.exceptions import ProviderConfigurationError
from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from notifications.reasons import reason_text
from tests.emulator.conftest import CREDENTIALS, message, provider_stats

FILE = "db0227be-c7c7-484e-8fa4-de9bcfd4723f"


def url(emulator, token=CREDENTIALS.leadconverter_token):
    return f"{emulator.url}/api/v1/{token}/broadcasting.sendMessageBatch"


def test_our_clients_batch_of_100_is_accepted_with_each_items_text(emulator, pointed):
    pointed(emulator)
    group = [message(n, str(1000 + n), body=f"Hello {n}") for n in range(100)]
    outcome = get_provider("leadconverter").send(group)
    assert {result.status for result in outcome.results} == {ResultStatus.SENT}
    recorded = emulator.messages("leadconverter")
    assert [m.address for m in recorded] == [str(1000 + n) for n in range(100)]
    assert len({m.text_hash for m in recorded}) == 100


def test_the_same_batch_twice_is_counted_as_duplicates(emulator, pointed):
    pointed(emulator)
    provider = get_provider("leadconverter")
    group = [message(n, str(n + 1), body="Hi", file_uuid=FILE) for n in range(5)]
    provider.send(group)
    provider.send(group)
    stats = provider_stats(emulator, "leadconverter")
    assert (stats["messages"], stats["distinct"], stats["duplicates"]) == (10, 5, 5)


def test_a_wrong_token_is_refused_and_our_client_asks_for_a_person(emulator, pointed, settings):
    pointed(emulator)
    settings.LEADCONVERTER_TOKEN = "not-the-token"
    with pytest.raises(ProviderConfigurationError) as refused:
        get_provider("leadconverter").send([message(1, "1", body="Hi")])
    # Stored as a reason (a worker has no reader); it reads as a sentence naming the setting.
    assert "LEADCONVERTER_TOKEN" in reason_text(str(refused.value))
    assert provider_stats(emulator, "leadconverter")["refusals"] == {"unauthorized": 1}


def test_101_items_are_refused(emulator, http):
    batch = [{"subscriber_id": n, "text": "Hi"} for n in range(1, 102)]
    answer = http.post(url(emulator), json={"batch": batch})
    assert answer.status_code == 400
    assert answer.json() == {"success": False, "error": "batch must contain at most 100 items"}
    assert provider_stats(emulator, "leadconverter")["refusals"] == {"too_many_items": 1}


NOT_A_SUBSCRIBER = "batch[1].subscriber_id is required and must be a positive integer"


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"subscriber_id": 1}, "batch[1]: text is required when file_uuid is not given"),
        ({"text": "Hi"}, NOT_A_SUBSCRIBER),
        ({"subscriber_id": 0, "text": "Hi"}, NOT_A_SUBSCRIBER),
        ({"subscriber_id": "7a", "text": "Hi"}, NOT_A_SUBSCRIBER),
        ({"subscriber_id": 1, "file_uuid": "not-a-uuid"}, "batch[1].file_uuid must be a file UUID"),
    ],
)
def test_one_bad_item_refuses_the_whole_batch(emulator, http, item, error):
    answer = http.post(url(emulator), json={"batch": [{"subscriber_id": 9, "text": "ok"}, item]})
    assert answer.status_code == 400
    assert answer.json() == {"success": False, "error": error}
    assert provider_stats(emulator, "leadconverter")["messages"] == 0


@pytest.mark.parametrize("body", [{}, {"batch": []}, {"batch": "1"}, ["batch"]])
def test_a_body_without_a_batch_is_refused(emulator, http, body):
    answer = http.post(url(emulator), json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "batch is required and must be a non-empty array"


def test_the_documented_query_string_form_is_accepted(emulator, http):
    query = (
        f"batch[0][subscriber_id]=7365&batch[0][file_uuid]={FILE}"
        "&batch[1][subscriber_id]=7366&batch[1][text]=hello"
    )
    answer = http.get(f"{url(emulator)}?{query}")
    assert answer.json() == {"success": True}
    assert [m.address for m in emulator.messages("leadconverter")] == ["7365", "7366"]


def test_an_unknown_method_is_not_found(emulator, http):
    answer = http.post(url(emulator).replace("sendMessageBatch", "sendEverything"), json={})
    assert answer.status_code == 404
    assert provider_stats(emulator, "leadconverter")["requests"] == 0


def test_the_injected_failure_is_a_transient_500(make_emulator, pointed):
    emulator = make_emulator(fail_rate=1.0)
    pointed(emulator)
    result = get_provider("leadconverter").send([message(1, "1", body="Hi")]).results[0]
    assert result.status == ResultStatus.RETRY
    assert result.response["status_code"] == 500
