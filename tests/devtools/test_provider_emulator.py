"""`manage.py provider_emulator` and `python -m emulator.localenv`, as `make run` uses them."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from emulator.localenv import main as localenv
from tests.devtools.test_devserver import free_port

ROOT = Path(django_settings.BASE_DIR)
CREDENTIAL_ENV = {
    "IMSHOP_API_KEY": "test-imshop-key",
    "LEADCONVERTER_TOKEN": "test-lc-token",
    "YANDEX_MARKET_API_KEY": "test-ym-key",
    "YANDEX_MARKET_BUSINESS_ID": "777",
    "BITRIX24_CLIENT_ID": "local.test.1",
    "BITRIX24_CLIENT_SECRET": "test-b24-secret",
}


def test_the_command_refuses_to_start_without_the_credentials_it_checks(settings):
    for name, value in CREDENTIAL_ENV.items():
        setattr(settings, name, value)
    settings.IMSHOP_API_KEY = ""
    settings.BITRIX24_CLIENT_SECRET = ""
    with pytest.raises(CommandError, match="IMSHOP_API_KEY, BITRIX24_CLIENT_SECRET are not set"):
        call_command("provider_emulator")


def test_callbacks_need_a_webhook_secret(settings):
    for name, value in CREDENTIAL_ENV.items():
        setattr(settings, name, value)
    settings.SMS_WEBHOOK_SECRETS = []
    with pytest.raises(CommandError, match="SMS_WEBHOOK_SECRETS"):
        call_command("provider_emulator", "--webhook-url", "http://127.0.0.1:8000/webhooks/sms/")


def test_the_command_serves_prints_the_env_lines_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        **CREDENTIAL_ENV,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "emulator-command-test-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "provider_emulator",
            "--addr",
            f"127.0.0.1:{port}",
            "--time-scale",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [server.stdout.readline() for _ in range(7)]
        base = f"http://127.0.0.1:{port}"
        assert f"IMSHOP_PUSH_URL={base}/imshop/push\n" in lines
        assert f"BITRIX24_OAUTH_URL={base}\n" in lines
        # The credentials stay in the settings: none is echoed to the console.
        assert not [line for line in lines if "test-lc-token" in line or "_KEY=" in line]
        with urllib.request.urlopen(f"{base}/_emulator/stats", timeout=5) as answer:
            assert json.load(answer)["emulator"]["time_scale"] == 60
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()


def test_localenv_points_a_fresh_env_at_the_emulator_and_leaves_the_rest(tmp_path):
    example = (ROOT / ".env.example").read_text()
    env_file = tmp_path / ".env"
    env_file.write_text(example)
    localenv(["--addr", "127.0.0.1:8025", str(env_file)])
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert values["IMSHOP_PUSH_URL"] == "http://127.0.0.1:8025/imshop/push"
    assert values["LEADCONVERTER_API_URL"] == "http://127.0.0.1:8025/api/v1"
    assert values["BITRIX24_OAUTH_URL"] == "http://127.0.0.1:8025"
    assert all(values[name] for name in CREDENTIAL_ENV)
    assert values["DATABASE_URL"] == "sqlite:///db.sqlite3"
    assert len(env_file.read_text().splitlines()) == len(example.splitlines())


def test_the_production_template_never_points_at_the_emulator():
    assert "127.0.0.1:8025" not in (ROOT / ".env.example").read_text()
