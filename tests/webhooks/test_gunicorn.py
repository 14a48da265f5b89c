"""The SMS endpoint under gunicorn as production runs it: bodies as they come over the wire.

Chunked bodies (`Transfer-Encoding: chunked`, no Content-Length) are read whole; bodies that are
too large, broken or unusable get a 4xx with a sentence and a row in the inbox, never a 500.
"""

import json
import shutil
from http.client import HTTPConnection
from pathlib import Path

import pytest

from notifications.reasons import reason_text
from tests.webhooks.conftest import SECRET, URL, basic, sendios_body, sms_event
from tests.webhooks.servers import exchange, gunicorn, post_request, status_and_json

LIMIT = 4096
HEADERS = {"Authorization": basic(SECRET), "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(migrated_database, tmp_path_factory):
    directory = tmp_path_factory.mktemp("gunicorn")
    database = Path(shutil.copy(migrated_database, directory / "db.sqlite3"))
    with gunicorn(
        database,
        directory / "output.log",
        SMS_WEBHOOK_SECRETS=SECRET,
        SMS_WEBHOOK_MAX_BODY_BYTES=str(LIMIT),
    ) as running:
        yield running


def chunked_request(*chunks: bytes) -> bytes:
    """An authenticated POST to the endpoint whose body is `chunks`, framed as HTTP/1.1 chunks."""
    framed = b"".join(b"%X\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    return post_request(URL, framed, {**HEADERS, "Transfer-Encoding": "chunked"})


def test_a_chunked_body_without_a_length_is_read_whole_stored_and_counted(server):
    body = sendios_body(*[sms_event(sms_id=sms_id) for sms_id in range(100, 110)])
    connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
    # An iterable body of unknown length: http.client sends it chunked, without Content-Length.
    connection.request(
        "POST",
        URL,
        body=(body[start : start + 100] for start in range(0, len(body), 100)),
        headers=HEADERS,
        encode_chunked=True,
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert response.status == 200, answer
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (10, 0, 0)
    assert server.row(
        "SELECT body, body_size, status, accepted FROM webhooks_inboundwebhook WHERE id = ?",
        answer["inbound_id"],
    ) == (body, len(body), "processed", 10)
    assert server.row(
        "SELECT count(*) FROM notifications_deliveryevent WHERE sms_id BETWEEN 100 AND 109"
    ) == (10,)


def test_a_chunked_body_over_the_limit_gets_413_and_a_row_saying_so(server):
    body = sendios_body(*[sms_event(sms_id=sms_id) for sms_id in range(200, 230)])
    assert len(body) > LIMIT
    status, answer = status_and_json(exchange(server.port, chunked_request(body)))
    error = f"The body is larger than the limit of {LIMIT:,} bytes."
    assert (status, answer["detail"]) == (413, error)
    body, size, stored_status, stored_error = server.row(
        "SELECT body, body_size, status, error FROM webhooks_inboundwebhook WHERE id = ?",
        answer["inbound_id"],
    )
    assert (body, size, stored_status, reason_text(stored_error)) == (
        b"",
        LIMIT + 1,
        "rejected",
        error,
    )


def test_a_chunked_body_with_broken_framing_gets_400_and_a_row_saying_why(server):
    broken = chunked_request(b"{}").replace(b"2\r\n{}", b"zz\r\n{}")
    status, answer = status_and_json(exchange(server.port, broken))
    assert status == 400
    # The rest of the sentence is gunicorn's own ("Invalid chunk size: b'zz'").
    assert answer["detail"].startswith("The body could not be read: ")
    stored_status, stored_error = server.row(
        "SELECT status, error FROM webhooks_inboundwebhook WHERE id = ?", answer["inbound_id"]
    )
    assert (stored_status, reason_text(stored_error)) == ("rejected", answer["detail"])


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"0": {"event": "sms_sent", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}}",
    ],
    ids=["1000 nested arrays", "an event holding 1000 nested arrays"],
)
def test_deeply_nested_json_gets_400_and_is_kept_in_the_inbox(server, body):
    with_length = post_request(URL, body, {**HEADERS, "Content-Length": str(len(body))})
    for request in (chunked_request(body), with_length):
        status, answer = status_and_json(exchange(server.port, request))
        assert (status, answer["detail"]) == (
            400,
            "The body is not usable JSON: it is nested too deeply.",
        )
        assert server.row(
            "SELECT body, status FROM webhooks_inboundwebhook WHERE id = ?", answer["inbound_id"]
        ) == (body, "rejected")
