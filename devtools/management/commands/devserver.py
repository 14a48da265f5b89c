"""`manage.py devserver [ADDR] [--emulator]`: the web server and a django-q2 worker together, for
local use; with `--emulator`, the provider emulator too (`manage.py provider_emulator`), posting
its SMS callbacks to this web server and sending Bitrix24's consent step back to its admin.

All run as child processes; Ctrl-C (or any one exiting) stops them all. Each child leads its own
process group, because some fork (runserver's autoreloader, qcluster's worker pool) and a signal
must reach the whole family, not only its head.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from .provider_emulator import DEFAULT_ADDR as EMULATOR_ADDR
from .provider_emulator import credentials_from_settings

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10


def _interrupt(signum: int, frame: object) -> None:
    # A SIGTERM (from a process manager) stops the children as cleanly as Ctrl-C does.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the development web server and a django-q2 worker (and, with --emulator, the "
        "provider emulator) until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--emulator",
            action="store_true",
            help="Also run the provider emulator (manage.py provider_emulator).",
        )
        parser.add_argument(
            "--emulator-addr",
            default=EMULATOR_ADDR,
            help=f"host:port of the provider emulator (default {EMULATOR_ADDR}).",
        )

    def handle(self, *args, addrport: str, emulator: bool, emulator_addr: str, **options) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Checked before anything starts, so a .env without credentials fails with the reason.
        emulator_command = self._emulator_command(addrport, emulator_addr) if emulator else None
        # Our own manage.py under our own interpreter: no untrusted input reaches these.
        children = {
            "web server": subprocess.Popen(  # noqa: S603
                [*manage, "runserver", addrport], process_group=0
            ),
            "worker": subprocess.Popen([*manage, "qcluster"], process_group=0),  # noqa: S603
        }
        if emulator_command:
            children["provider emulator"] = subprocess.Popen(  # noqa: S603
                [*manage, *emulator_command], process_group=0
            )
        self.stdout.write(
            f"Vestnik is starting: open {_local_url(addrport)}/admin/ (Ctrl-C stops everything)."
        )
        stopped_by_user = False
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            stopped_by_user = True
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._stop(children.values())
        if not stopped_by_user:
            died = [name for name, child in children.items() if child.returncode not in (0, None)]
            raise CommandError(
                f"The {' and '.join(died) or 'a process'} stopped; stopped the rest."
            )

    def _emulator_command(self, addrport: str, emulator_addr: str) -> list[str]:
        """The provider_emulator arguments that wire it to this web server."""
        try:
            credentials_from_settings()
        except CommandError as error:
            raise CommandError(
                f"{error} To add them to an existing .env: "
                f"{sys.executable} -m emulator.localenv --addr {emulator_addr} .env"
            ) from None
        web = _local_url(addrport)
        command = [
            "provider_emulator",
            "--addr",
            emulator_addr,
            "--bitrix24-redirect-uri",
            web + reverse("admin:notifications_bitrix24token_callback"),
        ]
        if any(secret.strip() for secret in settings.SMS_WEBHOOK_SECRETS):
            command += ["--webhook-url", web + reverse("webhooks:sms")]
        return command

    def _stop(self, children) -> None:
        for child in children:
            _signal_group(child, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Whatever of the family is still there after the grace period is killed.
            _signal_group(child, signal.SIGKILL)


def _local_url(addrport: str) -> str:
    """How this machine's browser reaches runserver's ADDR ("8000", "0.0.0.0:8000", ...)."""
    host, _, port = addrport.rpartition(":")
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the address, not binding to it
        host = "127.0.0.1"
    elif host == "[::]":
        host = "[::1]"
    return f"http://{host}:{port}"


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)
