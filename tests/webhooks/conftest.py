"""Helpers for the webhook tests: the endpoint's URL, credentials, bodies and the vendor samples."""

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.webhooks.servers import migrate

FIXTURES = Path(__file__).parent / "fixtures"
URL = "/webhooks/sms/"
SECRET = "test-webhook-secret"  # tests/settings.py
TS = 1_549_382_627  # the vendor samples' time: 2019-02-05 16:03:47 UTC


def fixture_bytes(name: str) -> bytes:
    """A fixture file's exact bytes."""
    return (FIXTURES / name).read_bytes()


def basic(password: str, user: str = "sendios") -> str:
    """An HTTP Basic `Authorization` header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


MISSING = object()


def sms_event(**fields: Any) -> dict[str, Any]:
    """An SMS event shaped like Sendios' samples; `fields` override or add (MISSING removes)."""
    event = {
        "event": "sms_sent",
        "client_user_id": "test123",
        "project_id": 99,
        "category_id": 1,
        "template_id": 15,
        "sms_id": 1233,
        "ts": TS,
        "omnichannel": 1,
        "channel": "sms",
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not MISSING}


def sendios_body(*events: dict[str, Any], sign: Any = None) -> bytes:
    """Events the way Sendios posts them: under keys "0", "1", ... beside `sign`."""
    document: dict[str, Any] = {str(index): event for index, event in enumerate(events)}
    document["sign"] = sign
    return json.dumps(document).encode()


def post(
    client: Client,
    body: bytes | str,
    *,
    password: str | None = SECRET,
    query: str = "",
    **extra: Any,
):
    """POST a body to the SMS endpoint, with Basic credentials unless `password` is None."""
    if password is not None:
        extra.setdefault("HTTP_AUTHORIZATION", basic(password))
    url = f"{URL}?{query}" if query else URL
    return client.post(url, data=body, content_type="application/json", **extra)


@pytest.fixture
def sendios(client):
    """Post a body as Sendios would, with valid credentials; returns the response."""

    def send(body: bytes | str, **kwargs: Any):
        return post(client, body, **kwargs)

    return send


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A SQLite file with every migration applied, made once per run for web servers started
    as processes of their own. Copy it (`scratch_database`) rather than serve it."""
    database = tmp_path_factory.mktemp("migrated") / "db.sqlite3"
    migrate(database)
    return database


@pytest.fixture
def scratch_database(migrated_database, tmp_path) -> Path:
    """A fresh copy of the migrated SQLite file, this test's own."""
    return Path(shutil.copy(migrated_database, tmp_path / "db.sqlite3"))
