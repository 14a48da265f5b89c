"""A local HTTP server that speaks LeadConverter's and Yandex Market's contracts and records
every message it accepts, so tests with real worker processes can count duplicates and losses.

It can be slow (`latency`), down (`down_until`: 503 until then) and strict about a rate
(`window_limit` requests per `window` seconds, answering 420 like Yandex when crossed).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LEADCONVERTER = re.compile(r"^/lc/(?P<token>[^/]+)/broadcasting\.sendMessageBatch$")
YANDEX = re.compile(r"^/v2/businesses/(?P<business>\d+)/chats/message$")


@dataclass
class Recorded:
    """What the server saw: accepted messages by address, request start times, refusals."""

    received: list[tuple[str, float]] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    refused: int = 0
    unavailable: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


class RecordingServer:
    def __init__(
        self,
        *,
        token: str = "test-token",  # noqa: S107 - a local test server's fake credential
        api_key: str = "test-key",
        latency: float = 0.0,
        window_limit: int | None = None,
        window: float = 1.0,
    ) -> None:
        self.token = token
        self.api_key = api_key
        self.latency = latency
        self.window_limit = window_limit
        self.window = window
        self.down_until = 0.0
        self.record = Recorded()
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def addresses(self) -> list[str]:
        with self._lock:
            return [address for address, _ in self.record.received]

    def _admit(self) -> bool:
        """Count the request in its window; False when it crosses the limit."""
        now = time.monotonic()
        with self._lock:
            self.record.requests.append(time.time())
            if self.window_limit is None:
                return True
            while self._recent and now - self._recent[0] >= self.window:
                self._recent.popleft()
            if len(self._recent) >= self.window_limit:
                self.record.refused += 1
                return False
            self._recent.append(now)
            return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                parts = urlsplit(self.path)
                with server._lock:
                    server.record.in_flight += 1
                    server.record.max_in_flight = max(
                        server.record.max_in_flight, server.record.in_flight
                    )
                try:
                    self._serve(parts, payload)
                finally:
                    with server._lock:
                        server.record.in_flight -= 1

            def _serve(self, parts, payload: dict) -> None:
                if time.time() < server.down_until:
                    with server._lock:
                        server.record.unavailable += 1
                    self._reply(503, {"error": "Service unavailable"})
                    return
                if server.latency:
                    time.sleep(server.latency)
                if match := LEADCONVERTER.match(parts.path):
                    if match["token"] != server.token:
                        self._reply(401, {"error": "invalid token"})
                        return
                    server._admit()
                    now = time.time()
                    with server._lock:
                        server.record.received.extend(
                            (str(item["subscriber_id"]), now) for item in payload["batch"]
                        )
                    self._reply(200, {"result": "ok"})
                elif YANDEX.match(parts.path):
                    if self.headers.get("Api-Key") != server.api_key:
                        self._reply(401, {"status": "ERROR", "errors": [{"code": "UNAUTHORIZED"}]})
                        return
                    if not server._admit():
                        self._reply(
                            420,
                            {"status": "ERROR", "errors": [{"code": "LIMIT_EXCEEDED"}]},
                        )
                        return
                    chat = parse_qs(parts.query)["chatId"][0]
                    with server._lock:
                        server.record.received.append((chat, time.time()))
                    self._reply(200, {"status": "OK"})
                else:
                    self._reply(404, {"error": "not found"})

        return Handler
