"""The emulator: one local HTTP server for the four providers, plus Sendios' callbacks.

Every provider lives on its own paths of one address (see `provider_settings`), so one process
serves them all; `/_emulator/` is ours, a prefix no vendor uses:

- `GET /_emulator/stats`: what each provider saw (see `Tally.stats`) and the callbacks posted;
- `POST /_emulator/reset`: forget all of it and refill the limits (credentials stay valid);
- `GET /_emulator/messages?provider=leadconverter`: every accepted message;
- `POST /_emulator/bitrix24/tokens`: a token pair, as installing the app on a portal gives.

Built for speed as much as fidelity: HTTP/1.1 keep-alive, a thread per connection, no logging
per request, and locks held only to count.
"""

from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .base import Behaviour, Service
from .bitrix24 import Bitrix24Service
from .credentials import Credentials, provider_settings
from .imshop import ImshopService
from .leadconverter import LeadConverterService
from .recorder import Accepted
from .sendios import CallbackMix, CallbackPoster
from .wire import Reply, Request
from .yandex_market import YandexMarketService

CONTROL_PREFIX = "/_emulator/"
# http.server knows no reason phrase for Yandex Market's 420.
REASONS = {420: "Method Failure"}
# An idle kept-alive connection is closed after this long, so stopped emulators free threads.
IDLE_CONNECTION_SECONDS = 30


class Emulator:
    """The providers' APIs on `host:port` (0: any free port), started and stopped in-process.

    `time_scale` divides every vendor duration (windows, token lifetimes); `fail_rate` answers
    that fraction of good requests with the vendor's transient error; `latency_ms` delays every
    answer; `limits=False` lets everything through (crossings are still counted); `seed` makes the
    random choices repeatable. Without `credentials`, fresh random ones are made (read them back
    from `.credentials`). With `webhook_url` (and `webhook_secret`), accepted Imshop pushes are
    followed by Sendios SMS callbacks mixed as `sendios` says. `bitrix24_redirect_uri` is where
    the OAuth consent step sends the person back to (the app's handler address).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        time_scale: float = 1.0,
        fail_rate: float = 0.0,
        latency_ms: float = 0,
        limits: bool = True,
        seed: int | None = None,
        credentials: Credentials | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        sendios: CallbackMix | None = None,
        bitrix24_redirect_uri: str | None = None,
    ) -> None:
        rng = random.Random(seed)  # noqa: S311 - a simulation, not security
        self.behaviour = Behaviour(
            time_scale=time_scale,
            fail_rate=fail_rate,
            latency_ms=latency_ms,
            limits=limits,
            rng=rng,
        )
        self.credentials = credentials or Credentials.generate()
        self.callbacks: CallbackPoster | None = None
        if webhook_url:
            if not webhook_secret:
                raise ValueError("a webhook URL needs the webhook secret our endpoint checks")
            self.callbacks = CallbackPoster(
                webhook_url,
                webhook_secret,
                sendios or CallbackMix(),
                random.Random(rng.random()),  # noqa: S311 - a simulation, not security
            )
        creds = self.credentials
        self.imshop = ImshopService(
            self.behaviour,
            api_key=creds.imshop_api_key,
            on_push=self.callbacks.schedule if self.callbacks else None,
        )
        self.leadconverter = LeadConverterService(self.behaviour, token=creds.leadconverter_token)
        self.yandex_market = YandexMarketService(
            self.behaviour,
            api_key=creds.yandex_market_api_key,
            business_id=creds.yandex_market_business_id,
        )
        self.bitrix24 = Bitrix24Service(
            self.behaviour,
            client_id=creds.bitrix24_client_id,
            client_secret=creds.bitrix24_client_secret,
            redirect_uri=bitrix24_redirect_uri,
        )
        self.services: dict[str, Service] = {
            service.name: service
            for service in (self.imshop, self.leadconverter, self.yandex_market, self.bitrix24)
        }
        self._server = _Server((host, port), _Handler)
        self._server.emulator = self
        self.bitrix24.portal_url = self.url
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    # --- Lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, such as http://127.0.0.1:8025."""
        host, port = self._server.server_address[:2]
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only to name a reachable address
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Serve on a background thread."""
        if self.callbacks:
            self.callbacks.start()
        # A short poll, so stop() returns at once: tests start and stop many emulators.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="provider-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted (the management command's loop)."""
        if self.callbacks:
            self.callbacks.start()
        try:
            self._server.serve_forever()
        finally:
            self._close()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._close()

    def _close(self) -> None:
        self._server.server_close()
        if self.callbacks:
            self.callbacks.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- What tests and benchmarks read ---------------------------------------------------------

    def settings(self) -> dict[str, str]:
        """Vestnik's settings that point every provider at this emulator, credentials included."""
        return provider_settings(self.url, self.credentials)

    def stats(self) -> dict[str, Any]:
        """Per provider: requests, accepted messages, distinct, duplicates, refusals by reason,
        over-limit crossings, max parallel, requests per window; and the callbacks posted."""
        behaviour = self.behaviour
        return {
            "emulator": {
                "url": self.url,
                "time_scale": behaviour.time_scale,
                "fail_rate": behaviour.fail_rate,
                "latency_ms": behaviour.latency_ms,
                "limits": behaviour.limits,
                "uptime_seconds": round(time.monotonic() - self._started, 3),
            },
            "providers": {name: service.stats() for name, service in self.services.items()},
            "sendios": self.callbacks.stats() if self.callbacks else None,
        }

    def messages(self, provider: str | None = None) -> list[Accepted]:
        """Every accepted message, of one provider or all, in the order each was accepted."""
        chosen = [self.services[provider]] if provider else self.services.values()
        return [message for service in chosen for message in service.tally.accepted()]

    def reset(self) -> None:
        """Forget everything recorded and refill every limit; credentials and tokens stay."""
        for service in self.services.values():
            service.reset()
        if self.callbacks:
            self.callbacks.reset()

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until every scheduled Sendios callback was posted; False on timeout."""
        return self.callbacks.wait_idle(timeout) if self.callbacks else True

    def bitrix24_tokens(self) -> dict[str, Any]:
        """A token pair as the OAuth token endpoint answers it, as if the app was just installed."""
        return self.bitrix24.issue_tokens()

    # --- Requests -------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Reply:
        """The answer to one request: a control endpoint or the provider that owns the path."""
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        for service in self.services.values():
            if service.owns(request.path):
                return service.handle(request)
        return Reply(404, {"error": "Not Found", "message": f"No provider serves {request.path}"})

    def _control(self, request: Request) -> Reply:
        action = (request.method, request.path.removeprefix(CONTROL_PREFIX).rstrip("/"))
        if action == ("GET", "stats"):
            return Reply(200, self.stats())
        if action == ("POST", "reset"):
            self.reset()
            return Reply(200, {"reset": True})
        if action == ("GET", "messages"):
            provider = request.query.get("provider") or None
            if provider and provider not in self.services:
                return Reply(400, {"error": f"unknown provider {provider!r}"})
            return Reply(200, [asdict(message) for message in self.messages(provider)])
        if action == ("POST", "bitrix24/tokens"):
            return Reply(200, self.bitrix24_tokens())
        return Reply(404, {"error": f"no control endpoint {request.method} {request.path}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    emulator: Emulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this, Nagle's algorithm and the client's delayed ACK could hold small answers
    # back by tens of milliseconds on a kept-alive connection.
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS
    server: _Server

    def version_string(self) -> str:
        return "vestnik-provider-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        """No line per request: logging would be the bottleneck of a benchmark."""

    def _serve(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._send(Reply(411, {"error": "Length Required"}))
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        request = Request(self.command, path, query, self.headers, body)
        try:
            reply = self.server.emulator.dispatch(request)
        except Exception:  # a bug of ours must still answer, and say so
            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, {"error": "The emulator failed; see its output."})
        self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _send(self, reply: Reply) -> None:
        # Written by hand in one piece: send_response() and friends cost a write per header
        # block and a log call, which a benchmark would measure instead of our engine.
        data, content_type = reply.encoded()
        reason = REASONS.get(reply.status) or self.responses.get(reply.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {reply.status} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(data)}",
            *(f"{name}: {value}" for name, value in reply.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = "\r\n".join(lines) + "\r\n\r\n"
        self.wfile.write(head.encode("latin-1", "strict") + data)
