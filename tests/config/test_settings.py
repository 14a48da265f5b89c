"""Settings come from the environment and refuse to start when something vital is wrong."""

import os
import shutil
import subprocess
import sys

from django.conf import settings

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'q': s.Q_CLUSTER, 'db': s.DATABASES['default']['ENGINE'], "
    "'cache': s.CACHES['default']['BACKEND']}, default=str))"
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


def _settings_in_a_checkout_with_a_dotenv(tmp_path, module: str) -> str:
    """IMSHOP_PUSH_URL as `module` sees it in a copy of our settings beside a `make run` .env."""
    shutil.copytree(settings.BASE_DIR / "config", tmp_path / "config")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    shutil.copy(settings.BASE_DIR / "tests" / "settings.py", tmp_path / "tests" / "settings.py")
    (tmp_path / ".env").write_text(
        "SECRET_KEY=from-the-dotenv\nIMSHOP_PUSH_URL=http://127.0.0.1:8025/imshop/push\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"VESTNIK_ENV_FILE", "SECRET_KEY"}}
    env.pop("IMSHOP_PUSH_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", f"import {module} as s; print(repr(s.IMSHOP_PUSH_URL))"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_product_reads_the_dotenv_that_make_run_writes(tmp_path):
    assert _settings_in_a_checkout_with_a_dotenv(tmp_path, "config.settings") == repr(
        "http://127.0.0.1:8025/imshop/push"
    )


def test_the_test_settings_never_read_a_dotenv(tmp_path):
    assert _settings_in_a_checkout_with_a_dotenv(tmp_path, "tests.settings") == repr("")


def test_language_code_must_be_one_of_ours():
    result = run_settings(SECRET_KEY="x" * 50, LANGUAGE_CODE="de")
    assert result.returncode != 0
    assert "LANGUAGE_CODE must be one of en, ru, not 'de'." in result.stderr


def test_the_commands_speak_language_code(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(SECRET_KEY="x" * 50, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    command = [sys.executable, "manage.py", "import_recipients", "missing.csv", "--audience", "A"]

    def refusal(language: str) -> str:
        result = subprocess.run(
            command,
            cwd=settings.BASE_DIR,
            env={**env, "LANGUAGE_CODE": language},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        return result.stderr.strip()

    assert refusal("en") == "CommandError: No such file: missing.csv."
    assert refusal("ru") == "CommandError: Файл не найден: missing.csv."


def test_a_send_window_default_that_is_not_one_is_refused():
    result = run_settings(SECRET_KEY="x" * 50, SEND_WINDOW_DEFAULT="10-21")
    assert result.returncode != 0
    assert "SEND_WINDOW_DEFAULT must be like 10:00-21:00, or off, not '10-21'." in result.stderr


def test_a_retention_that_is_not_a_number_of_days_is_refused_with_a_sentence():
    result = run_settings(SECRET_KEY="x" * 50, DELIVERIES_KEEP_DAYS="half a year")
    assert result.returncode != 0
    assert (
        "DELIVERIES_KEEP_DAYS must be a whole number of days (0 or empty: keep for ever), "
        "not 'half a year'." in result.stderr
    )


def test_a_negative_retention_is_refused_with_a_sentence():
    result = run_settings(SECRET_KEY="x" * 50, TASKS_KEEP_DAYS="-7")
    assert result.returncode != 0
    assert "TASKS_KEEP_DAYS must be a whole number of days" in result.stderr


PRINT_RETENTION = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.DELIVERIES_KEEP_DAYS, s.EVENTS_KEEP_DAYS, s.WEBHOOK_INBOX_KEEP_DAYS, "
    "s.TASKS_KEEP_DAYS]))"
)


def test_retention_defaults_and_zero_or_empty_keeping_for_ever():
    env = {"SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.update(VESTNIK_ENV_FILE="", PATH=os.environ.get("PATH", ""))
    defaults = subprocess.run(
        [sys.executable, "-c", PRINT_RETENTION],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert defaults.stdout.strip() == "[180, 180, 30, 7]", defaults.stderr
    forever = subprocess.run(
        [sys.executable, "-c", PRINT_RETENTION],
        cwd=settings.BASE_DIR,
        env={**env, "DELIVERIES_KEEP_DAYS": "0", "WEBHOOK_INBOX_KEEP_DAYS": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert forever.stdout.strip() == "[null, 180, null, 7]", forever.stderr
