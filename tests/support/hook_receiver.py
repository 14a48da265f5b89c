"""A local integration that receives Vestnik's outbound webhooks and keeps every request.

It can fail (`fail_until`: 500 until then; `fail_first`: 500 to that many first requests),
answer with a status of the test's choosing
(`status`, `headers`: a redirect), or be slow (`latency`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def events(self) -> list[dict]:
        return json.loads(self.body)["events"]


class HookReceiver:
    def __init__(self) -> None:
        self.fail_until = 0.0
        self.fail_first = 0
        self.status = 200
        self.headers: dict[str, str] = {}
        self.latency = 0.0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def __enter__(self) -> HookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.latency:
                    time.sleep(receiver.latency)
                with receiver._lock:
                    failing = time.time() < receiver.fail_until or (
                        len(receiver.received) < receiver.fail_first
                    )
                    status = 500 if failing else receiver.status
                    receiver.received.append(
                        Received(self.path, dict(self.headers), body, status, time.time())
                    )
                answer = b'{"ok": true}' if status < 300 else b"receiver says no"
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler
