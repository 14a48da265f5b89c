"""`manage.py devserver [ADDR]`: the web server and a django-q2 worker together, for local use.

Both run as child processes; Ctrl-C (or either one exiting) stops both. Each child leads its own
process group, because both fork (runserver's autoreloader, qcluster's worker pool) and a signal
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

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10


def _interrupt(signum: int, frame: object) -> None:
    # A SIGTERM (from a process manager) stops the children as cleanly as Ctrl-C does.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the development web server and a django-q2 worker until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Our own manage.py under our own interpreter: no untrusted input reaches these.
        children = {
            "web server": subprocess.Popen(  # noqa: S603
                [*manage, "runserver", addrport], process_group=0
            ),
            "worker": subprocess.Popen([*manage, "qcluster"], process_group=0),  # noqa: S603
        }
        self.stdout.write(
            f"Vestnik is starting: open http://{addrport}/admin/ (Ctrl-C stops everything)."
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

    def _stop(self, children) -> None:
        for child in children:
            _signal_group(child, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Whatever of the family is still there after the grace period is killed.
            _signal_group(child, signal.SIGKILL)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)
