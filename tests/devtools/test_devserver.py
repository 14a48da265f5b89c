"""`manage.py devserver`, the heart of `make run`: real processes on a scratch SQLite file."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scratch_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="devserver-test-only-key",
        DEBUG="True",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        Q_WORKERS="1",
        SMS_WEBHOOK_SECRETS="devserver-test-webhook-secret",
        # The provider emulator checks these (tests/emulator has the same fakes).
        IMSHOP_API_KEY="test-imshop-key",
        LEADCONVERTER_TOKEN="test-lc-token",
        YANDEX_MARKET_API_KEY="test-ym-key",
        YANDEX_MARKET_BUSINESS_ID="777",
        BITRIX24_CLIENT_ID="local.test.1",
        BITRIX24_CLIENT_SECRET="test-b24-secret",
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=True,
    )
    return result.stdout.strip()


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def admin_login_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def emulator_stats(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/stats", timeout=2) as reply:
            return json.load(reply)
    except OSError:
        return None


def test_serves_the_admin_runs_tasks_and_stops_everything_on_ctrl_c(scratch_env):
    manage(scratch_env, "migrate", "--noinput")
    port, emulator_port = free_port(), free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "devserver", f"127.0.0.1:{port}"),
            *("--emulator", "--emulator-addr", f"127.0.0.1:{emulator_port}"),
        ],
        cwd=settings.BASE_DIR,
        env=scratch_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: admin_login_answers(port), "the admin login page")
        wait_for(lambda: emulator_stats(emulator_port), "the provider emulator")
        task_id = manage(
            scratch_env,
            "shell",
            "--no-imports",
            "-c",
            "from django_q.tasks import async_task; print(async_task('math.floor', 2.5))",
        )
        check = f"from django_q.tasks import result; print(result('{task_id}'))"
        wait_for(
            lambda: manage(scratch_env, "shell", "--no-imports", "-c", check) == "2",
            "the worker to run a task",
        )
        family = descendants(server.pid)
        assert len(family) >= 4  # runserver, its reloaded child, qcluster, its pool, the emulator
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
    assert not [pid for pid in family if alive(pid)], "a child outlived devserver"


def test_the_emulator_without_its_credentials_stops_before_anything_starts(scratch_env):
    del scratch_env["IMSHOP_API_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "devserver", f"127.0.0.1:{free_port()}", "--emulator"],
        cwd=settings.BASE_DIR,
        env=scratch_env,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )
    assert result.returncode != 0
    assert "IMSHOP_API_KEY is not set" in result.stderr
    assert "emulator.localenv" in result.stderr
    assert "Vestnik is starting" not in result.stdout
