"""`qcluster` processes on hosts (`tests/support/hosts.py`), and what their logs say: when
their workers are ready, which send tasks they began and ended, and what each task sent.

Each is started inside its host with the environment a production host would be given, and
stopped (or killed) with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.hosts import Host

# One line per send task in a cluster's log (`notifications.sending.tasks.send_campaign`).
TASK_REPORT = re.compile(r"campaign (\d+): (\d+) requests, (\{[^}]*\}); stopped")


class HostCluster:
    """A `qcluster` process on a host, given its environment (what a production host would be
    given, with its own addresses of the shared services), logging to a file."""

    def __init__(self, host: Host, log_path: Path, env: dict[str, str], *, cwd: Path) -> None:
        self.host = host
        self.log_path = log_path
        self.workers = int(env["Q_WORKERS"])
        with log_path.open("w") as log:
            self.process = host.popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def ready(self) -> bool:
        """Every worker of the cluster has started (Q_WORKERS of its environment)."""
        return self.log().count("ready for work") >= self.workers

    def _send_tasks(self, word: str) -> int:
        return sum(word in line and "send_campaign" in line for line in self.log().splitlines())

    def senders_started(self) -> int:
        return self._send_tasks("processing")

    def idle(self) -> bool:
        """Every send task it began has ended (and written its report)."""
        return self.senders_started() == self._send_tasks("Processed") + self._send_tasks("Failed")

    def sent(self, campaign_id: int) -> tuple[int, int]:
        """(requests, deliveries sent) by this cluster's finished send tasks of a campaign."""
        requests = sent = 0
        for campaign, count, outcomes in TASK_REPORT.findall(self.log()):
            if int(campaign) == campaign_id:
                requests += int(count)
                # Counter keys are Delivery.Status members: {Delivery.Status.SENT: 1000}.
                found = re.search(r"\.SENT: (\d+)", outcomes)
                sent += int(found.group(1)) if found else 0
        return requests, sent

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class HostClusters(list):
    """A `HostCluster` on each of `hosts` once `start_missing` ran, logging into `log_dir`."""

    def __init__(self, hosts: Sequence[Host], log_dir: Path, *, cwd: Path) -> None:
        super().__init__()
        self.hosts, self.log_dir, self.cwd = list(hosts), log_dir, cwd
        self.started = 0

    def start_missing(self, env_for: Callable[[Host], dict[str, str]]) -> None:
        """Start a cluster on each host that has none running: at first, or after a kill."""
        for index, host in enumerate(self.hosts):
            if index < len(self) and self[index].process.poll() is None:
                continue
            self.started += 1
            log_path = self.log_dir / f"qcluster-{host.name}-{self.started}.log"
            cluster = HostCluster(host, log_path, env_for(host), cwd=self.cwd)
            if index < len(self):
                self[index] = cluster
            else:
                self.append(cluster)

    def ready(self) -> bool:
        return all(cluster.ready() for cluster in self)

    def idle(self) -> bool:
        return all(cluster.idle() for cluster in self)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM to all, then SIGKILL to what is left after `grace` seconds (django-q2's
        shutdown can deadlock on its own event; what matters is in the database)."""
        running = [cluster.process for cluster in self if cluster.process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0, deadline - time.monotonic()))
        for cluster in self:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(cluster.process.pid, signal.SIGKILL)
            cluster.process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {cluster.host.name}\n" + "\n".join(cluster.log().splitlines()[-30:])
            for cluster in self
        )
