"""Settings come from the environment and refuse to start when something vital is wrong."""

import os
import subprocess
import sys

from django.conf import settings

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'q': s.Q_CLUSTER, 'db': s.DATABASES['default']['ENGINE'], "
    "'cache': s.CACHES['default']['BACKEND']}))"
)


def run_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_secret_key_the_project_refuses_to_start_with_a_sentence(tmp_path):
    result = run_settings(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_sqlite_and_the_orm_broker_are_the_embedded_default():
    result = run_settings(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert '"orm": "default"' in result.stdout
    assert '"django.db.backends.sqlite3"' in result.stdout
    assert "locmem" in result.stdout


def test_redis_url_switches_the_broker_and_the_cache_to_redis():
    result = run_settings(SECRET_KEY="x" * 50, REDIS_URL="redis://127.0.0.1:6379/3")
    assert result.returncode == 0, result.stderr
    assert '"redis": "redis://127.0.0.1:6379/3"' in result.stdout
    assert '"orm"' not in result.stdout
    assert "RedisCache" in result.stdout


def test_retry_not_larger_than_timeout_is_refused():
    result = run_settings(SECRET_KEY="x" * 50, Q_TIMEOUT="300", Q_RETRY="300")
    assert result.returncode != 0
    assert "Q_RETRY must be larger than Q_TIMEOUT" in result.stderr
