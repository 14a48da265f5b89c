"""`python -m emulator.localenv [--addr HOST:PORT] FILE`: point a local .env at the emulator.

Rewrites, in place, the provider lines of FILE (the settings `provider_settings` names) with
fresh random credentials and the emulator's URLs; a setting FILE lacks is appended. `make .env`
runs it on a new `.env` only: `.env.example`, the production template, never points at it.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .credentials import Credentials, provider_settings

DEFAULT_ADDR = "127.0.0.1:8025"


def pointed_at_emulator(text: str, base_url: str, credentials: Credentials) -> str:
    """`text` (a .env file) with every provider setting pointing at the emulator at `base_url`."""
    for name, value in provider_settings(base_url, credentials).items():
        line = f"{name}={value}"
        text, found = re.subn(rf"(?m)^{name}=.*$", lambda _match, line=line: line, text)
        if not found:
            text = f"{text.rstrip(chr(10))}\n{line}\n"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--addr", default=DEFAULT_ADDR, help="the emulator's host:port")
    options = parser.parse_args(argv)
    path: Path = options.file
    text = pointed_at_emulator(
        path.read_text(encoding="utf-8"), f"http://{options.addr}", Credentials.generate()
    )
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
