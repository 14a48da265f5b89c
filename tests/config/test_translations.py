"""The Russian catalogue is complete and current: running `manage.py translations` on a copy of
the tree changes nothing, and no entry is untranslated or fuzzy. Needs gettext's tools (CI
installs them)."""

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from notifications.formats import number_text

CATALOGUE = Path("locale/ru/LC_MESSAGES/django.po")
# The tree `manage.py translations` reads (devtools holds the command; its strings are not
# extracted).
TREE = [
    "manage.py",
    "config",
    "notifications",
    "outbound",
    "webhooks",
    "devtools",
    "templates",
    "locale",
]

needs_gettext = pytest.mark.skipif(
    shutil.which("msgattrib") is None, reason="needs gettext (apt-get install gettext)"
)


def _entries(po: Path) -> str:
    """The catalogue's entries in a stable form: sorted, no locations, no header dates."""
    text = subprocess.run(
        # gettext's tool, found on PATH.
        ["msgattrib", "--no-location", "--sort-output", "--no-wrap", str(po)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line for line in text.splitlines() if "-Date:" not in line)


def _selected(po: Path, flag: str) -> str:
    """The entries msgattrib selects with `flag` (`--untranslated`, `--only-fuzzy`), header
    aside."""
    text = subprocess.run(
        ["msgattrib", flag, "--no-wrap", str(po)],  # noqa: S607 - gettext's tool, on PATH
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(
        line for line in text.splitlines() if line.startswith("msgid ") and line != 'msgid ""'
    )


@needs_gettext
def test_every_string_is_in_the_catalogue_and_nothing_else(tmp_path):
    for name in TREE:
        source = settings.BASE_DIR / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x" * 50}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "translations"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    committed = settings.BASE_DIR / CATALOGUE
    assert _entries(tmp_path / CATALOGUE) == _entries(committed), (
        "The code's strings differ from the catalogue: run `manage.py translations`, "
        "translate the new entries, and commit locale/."
    )
    # The compiled catalogue is the one the committed text compiles to.
    mo = CATALOGUE.with_suffix(".mo")
    assert (tmp_path / mo).read_bytes() == (settings.BASE_DIR / mo).read_bytes(), (
        "locale/ru/LC_MESSAGES/django.mo is stale: run `manage.py translations`."
    )


@needs_gettext
def test_no_entry_is_untranslated_or_fuzzy():
    committed = settings.BASE_DIR / CATALOGUE
    assert _selected(committed, "--untranslated") == ""
    assert _selected(committed, "--only-fuzzy") == ""


def test_numbers_read_as_each_language_groups_them():
    with translation.override("en"):
        assert number_text(48000) == "48,000"
    with translation.override("ru"):
        assert number_text(48000) == "48\xa0000"
    assert number_text(None) == ""


@pytest.mark.django_db
def test_staff_switch_the_language_in_the_header(admin_client):
    page = admin_client.get(reverse("admin:index"))
    assert 'lang="ru"' in page.content.decode()
    switched = admin_client.post(
        reverse("set_language"), {"language": "ru", "next": reverse("admin:index")}
    )
    assert switched.status_code == 302
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Последние действия" in page
    assert 'lang="en"' in page  # the way back


def test_the_api_follows_accept_language(client):
    with override_settings():
        answer = client.get("/api/recipients/", HTTP_ACCEPT_LANGUAGE="ru")
    assert answer.status_code in (401, 403)
    assert answer["Content-Language"] == "ru"


def test_a_moment_reads_one_way_per_language_on_every_page():
    moment = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    with translation.override("en"):
        assert date_format(moment, "DATETIME_FORMAT") == "6 Dec 2026, 18:30"
        assert date_format(moment, "SHORT_DATETIME_FORMAT") == "6 Dec, 18:30"
    with translation.override("ru"):
        assert date_format(moment, "DATETIME_FORMAT") == "6 декабря 2026, 18:30"
        assert date_format(moment, "SHORT_DATETIME_FORMAT") == "6 декабря, 18:30"
