"""Transport failures on real sockets: the classification must hold for what requests raises.

A tiny server on 127.0.0.1 misbehaves in one way per test. The mocked tests elsewhere build the
exceptions by hand; these prove the hand-built shapes match reality.
"""

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from notifications.providers.registry import get_provider
from notifications.providers.values import ResultStatus
from tests.notifications.providers.conftest import LEADCONVERTER_TOKEN, message

PUSH = message(1, "42", title="T", body="B")


def read_request(connection: socket.socket) -> None:
    """Read one whole request (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += connection.recv(65536)


def serve_once(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def run():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            read_request(connection)
            behaviour(connection)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(timeout=5)
    listener.close()


def never_answer(connection: socket.socket) -> None:
    connection.settimeout(3)
    with contextlib.suppress(OSError):
        connection.recv(1)  # until the client gives up and closes


def reset(connection: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def close_without_answer(connection: socket.socket) -> None:
    connection.shutdown(socket.SHUT_RDWR)


def answer_ok(connection: socket.socket) -> None:
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )


@pytest.fixture
def local_imshop(provider_settings):
    def build(port: int):
        provider_settings.IMSHOP_PUSH_URL = f"http://127.0.0.1:{port}/push"
        provider_settings.PROVIDER_READ_TIMEOUT = 0.5
        return get_provider("imshop")

    return build


def test_a_refused_connection_is_retried(local_imshop):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    outcome = local_imshop(port).send([PUSH])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.RETRY,
        "connect_error",
    )


def test_a_server_that_never_answers_makes_the_message_unknown(local_imshop):
    for port in serve_once(never_answer):
        outcome = local_imshop(port).send([PUSH])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.UNKNOWN,
        "read_timeout",
    )


def test_a_connection_reset_after_the_request_makes_the_message_unknown(local_imshop):
    for port in serve_once(reset):
        outcome = local_imshop(port).send([PUSH])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.UNKNOWN,
        "connection_lost",
    )


def test_a_connection_closed_without_an_answer_makes_the_message_unknown(local_imshop):
    for port in serve_once(close_without_answer):
        outcome = local_imshop(port).send([PUSH])

    assert (outcome.results[0].status, outcome.results[0].code) == (
        ResultStatus.UNKNOWN,
        "connection_lost",
    )


def test_urllib3_debug_lines_never_show_the_token_in_the_path(provider_settings, caplog):
    caplog.set_level("DEBUG")
    for port in serve_once(answer_ok):
        provider_settings.LEADCONVERTER_API_URL = f"http://127.0.0.1:{port}/api/v1"
        outcome = get_provider("leadconverter").send([message(1, "5", body="Hi")])

    assert outcome.results[0].status == ResultStatus.SENT
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("/api/v1/[redacted]/broadcasting.sendMessageBatch" in line for line in urllib3_lines)
    assert all("s3cr3t" not in record.getMessage() for record in caplog.records)
    assert LEADCONVERTER_TOKEN.startswith("lc-token-s3cr3t")
