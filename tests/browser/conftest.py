"""The live product for browser tests: real processes on a scratch database.

One SECRET_KEY for all of them (django-q2 signs tasks with it): the provider emulator
(`manage.py provider_emulator`), `migrate`, `runserver --noreload` and `qcluster`, on a scratch
SQLite file, or on a scratch PostgreSQL database when DATABASE_URL points at PostgreSQL. Playwright
drives Debian's Chromium (/usr/bin/chromium); where it is missing the tests skip, and no browser is
ever downloaded.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
STARTUP_SECONDS = 60
PASSWORD = "browser-test-password"
VIEWPORT = {"width": 1280, "height": 800}

# Small batches at a modest rate: a 40-recipient campaign takes a few seconds, long enough to
# watch its progress and to pause it, short enough for the suite.
LEADCONVERTER_BATCH_SIZE = "2"
LEADCONVERTER_RATE = "5/s"


# The PostgreSQL pass drives one journey through the browser: the campaign desk (import,
# dispatch, pause and resume) on the live product over PostgreSQL. Its tests carry the
# `real_database` mark (the product's processes use a database made from DATABASE_URL); the other
# browser tests check pages, whose markup and behaviour the database does not change, so they run
# once, on the SQLite pass (tests/conftest.py leaves them out of the PostgreSQL pass).
POSTGRES_JOURNEYS = {"test_campaign_desk.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if Path(item.fspath).name in POSTGRES_JOURNEYS:
                item.add_marker(pytest.mark.real_database)
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"needs Debian's Chromium at {CHROMIUM} (apt install chromium)"
                    )
                )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, live: LiveProduct) -> dict:
    return {**browser_context_args, "viewport": VIEWPORT, "base_url": live.url}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


class LiveProduct:
    """The running processes and how to reach them."""

    def __init__(self, env: dict[str, str], url: str, emulator_url: str, logs: Path) -> None:
        self.env, self.url, self.emulator_url, self.logs = env, url, emulator_url, logs
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
            check=False,
        )
        if result.returncode:
            raise AssertionError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip()

    def shell(self, code: str) -> str:
        """Run Python in the product's own settings (to set up rows a test starts from)."""
        return self.manage("shell", "--no-imports", stdin=code)

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.processes.append((name, process))

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text()[-3000:]
                pytest.fail(f"{name} stopped with {process.returncode}:\n{tail}")

    def wait_for(self, url: str, what: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
            if _answers(url):
                return
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}")

    def stop(self) -> None:
        for _, process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
        for _, process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@contextlib.contextmanager
def scratch_database(tmp: Path) -> Iterator[str]:
    """A DATABASE_URL of our own: a SQLite file, or a fresh PostgreSQL database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp / 'browser.sqlite3'}"
        return
    import psycopg

    base, _, _ = url.rpartition("/")
    name = f"vestnik_browser_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


USERS = f"""
from django.contrib.auth.models import Permission, User
User.objects.create_superuser("boss", "boss@example.com", {PASSWORD!r})
viewer = User.objects.create_user("viewer", password={PASSWORD!r}, is_staff=True)
viewer.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="notifications", codename__startswith="view_"))
editor = User.objects.create_user("editor", password={PASSWORD!r}, is_staff=True)
editor.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="notifications",
    codename__regex=r"^(view|add|change)_"))
"""


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveProduct]:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM}")
    from emulator import Credentials, provider_settings

    tmp = tmp_path_factory.mktemp("live")
    web_port, emulator_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    with scratch_database(tmp) as database_url:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            SECRET_KEY=secrets.token_urlsafe(40),
            DEBUG="True",  # runserver serves the static files (our CSS and script) itself
            DATABASE_URL=database_url,
            Q_WORKERS="2",
            Q_TIMEOUT="20",
            Q_RETRY="25",
            LEADCONVERTER_BATCH_SIZE=LEADCONVERTER_BATCH_SIZE,
            LEADCONVERTER_RATE=LEADCONVERTER_RATE,
            PROVIDER_CONNECT_TIMEOUT="2",
            PROVIDER_READ_TIMEOUT="5",
            # Lists longer than this export in the background (test_exports.py has both).
            EXPORT_BACKGROUND_ROWS="100",
            EXPORTS_DIR=str(tmp / "exports"),
            **provider_settings(emulator_url, Credentials.generate()),
        )
        product = LiveProduct(env, f"http://127.0.0.1:{web_port}", emulator_url, tmp)
        try:
            product.start("emulator", "provider_emulator", "--addr", f"127.0.0.1:{emulator_port}")
            product.manage("migrate", "--noinput")
            product.shell(USERS)
            product.start("web", "runserver", "--noreload", f"127.0.0.1:{web_port}")
            product.start("worker", "qcluster")
            product.wait_for(f"{emulator_url}/_emulator/stats", "the provider emulator")
            product.wait_for(f"{product.url}/admin/login/", "the web server")
            yield product
        finally:
            product.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
