"""Real web servers for the webhook tests: gunicorn as production runs it, and runserver.

Each runs as its own process on a free loopback port, against a scratch SQLite file, with
everything it writes (stdout and stderr) captured in a file the test can read. Requests are
sent over a plain socket where the exact bytes on the wire matter.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

STARTUP_SECONDS = 60
GUNICORN_CONFIG = "config/gunicorn.conf.py"


@dataclass(frozen=True)
class Server:
    """A running web server: where it listens, where its output goes, the database it uses."""

    port: int
    output: Path
    database: Path

    def log(self) -> str:
        """Everything the server process has written so far."""
        return self.output.read_text(errors="replace")

    def row(self, sql: str, *params: object) -> tuple:
        """One row of a query on the server's database."""
        with closing(sqlite3.connect(self.database)) as connection:
            return connection.execute(sql, params).fetchone()


def migrate(database: Path) -> None:
    """Create `database` with every migration applied."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=settings.BASE_DIR,
        env=_environment(database),
        capture_output=True,
        timeout=STARTUP_SECONDS * 2,
        check=True,
    )


@contextmanager
def gunicorn(database: Path, output: Path, **env: str) -> Iterator[Server]:
    """`gunicorn -c config/gunicorn.conf.py config.wsgi` with one worker, until the block ends."""
    port = _free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, "config.wsgi"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "5"),
    ]
    with _running("gunicorn", command, Server(port, output, database), **env) as server:
        yield server


@contextmanager
def runserver(database: Path, output: Path, **env: str) -> Iterator[Server]:
    """`manage.py runserver` (what `manage.py devserver` starts), until the block ends."""
    port = _free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with _running("runserver", command, Server(port, output, database), **env) as server:
        yield server


def post_request(target: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The bytes of a POST to `target` with `headers` and `body` as given (frame a chunked body
    yourself), asking the server to close the connection after its answer."""
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(port: int, request: bytes) -> bytes:
    """Send raw request bytes in one write; the raw answer.

    In one write, so the whole request is there before the server reads any of it. The answer
    ends where the stream does: send `Connection: close` (as `post_request` does).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def status_and_json(answer: bytes) -> tuple[int, Any]:
    """The status code and JSON document of a raw HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def _environment(database: Path, **env: str) -> dict[str, str]:
    # The real settings, on the scratch file; nothing of the test run's own database or Redis.
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="webhook-server-test-only-key",
        DEBUG="False",
        SECURE_SSL_REDIRECT="False",
        DATABASE_URL=f"sqlite:///{database}",
    )
    return {**environment, **env}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _running(name: str, command: list[str], server: Server, **env: str) -> Iterator[Server]:
    with server.output.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=_environment(server.database, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    socket.create_connection(("127.0.0.1", server.port), 0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{name} did not start: {server.log()[-2000:]}"
                        ) from None
                    time.sleep(0.1)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
