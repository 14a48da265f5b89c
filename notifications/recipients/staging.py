"""CSV files between the import's dry run and its confirmation.

The upload waits in a folder of the system's temporary directory under a random name; the
person's session holds that name, so nobody else can confirm (or read) it. Files older than a
day are swept whenever a new one arrives. With several web machines, the confirmation must reach
the machine that checked the file (sticky sessions); otherwise staff are asked to upload again.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

IMPORT_SESSION_KEY = "vestnik_staged_import"
MAX_AGE_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "vestnik-imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in folder.glob("*.csv"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def staged_import_save(cleaned: dict) -> dict:
    """Keep the uploaded file; returns what the session remembers of it (no file content)."""
    folder = _folder()
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    upload = cleaned["file"]
    with (folder / f"{token}.csv").open("wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    upload.seek(0)
    audience = cleaned.get("audience")
    return {
        "token": token,
        "filename": upload.name,
        "audience_id": audience.pk if audience else None,
        "audience_name": str(audience) if audience else cleaned.get("new_audience", ""),
        "new_audience": "" if audience else cleaned.get("new_audience", ""),
    }


def _path(staged: dict) -> Path:
    token = staged["token"]
    # The token is ours (token_urlsafe), but it comes back from the session: check its shape.
    if not token.replace("-", "").replace("_", "").isalnum():
        raise FileNotFoundError(token)
    return _folder() / f"{token}.csv"


@contextmanager
def staged_import_open(staged: dict) -> Iterator[BinaryIO]:
    """The staged file, opened for reading; FileNotFoundError when it is gone."""
    with _path(staged).open("rb") as stream:
        yield stream


def staged_import_discard(staged: dict) -> None:
    """Forget the staged file."""
    with suppress(FileNotFoundError):
        _path(staged).unlink(missing_ok=True)
