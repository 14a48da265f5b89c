"""Several machines on one computer, for tests of Vestnik across hosts.

A host is a network namespace with its own loopback and one veth link to this computer's
namespace: `10.231.N.2` inside, `10.231.N.1` (its gateway) on this side. Shared services that
listen on this side's 127.0.0.1 only (PostgreSQL, Redis) are out of a host's reach, so a `Relay`
listens on each gateway and pipes every connection to the service: a host's traffic with them
crosses its own link, as it would cross a network. The relay can listen inside a host as well
(a service on its own loopback, relayed across its link to the gateway).

Making namespaces needs root and iproute2's `ip`; `hosts_problem` says why not, for a skip.
Everything made here is removed on every exit path (SIGTERM included); what a run killed with
SIGKILL left behind is removed before the next run makes its own (runs take a lock, so another
run's hosts are never touched).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# 10.231.N.0/30 for host N: an unlikely range, checked unused before anything is made.
SUBNET_PREFIX = "10.231"
NAME_PREFIX = "vh-"
LOCK_PATH = Path(tempfile.gettempdir()) / "vestnik-hosts.lock"
LOCK_WAIT_SECONDS = 120
CLONE_NEWNET = 0x40000000  # setns(2): the namespace is a network namespace
IP = shutil.which("ip")


def hosts_problem() -> str | None:
    """Why hosts cannot be made on this machine (a sentence for a skip), or None."""
    if os.geteuid() != 0:
        return "needs root: making network namespaces (ip netns add) and veth links does"
    if IP is None:
        return "needs iproute2's `ip` (apt-get install iproute2)"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result


@dataclass(frozen=True)
class Host:
    """One machine: a namespace named `name`, linked to this one over `10.231.index.0/30`."""

    name: str
    index: int

    @property
    def gateway(self) -> str:
        """This side's end of the link: where the host reaches the shared services."""
        return f"{SUBNET_PREFIX}.{self.index}.1"

    @property
    def address(self) -> str:
        """The host's own end of the link."""
        return f"{SUBNET_PREFIX}.{self.index}.2"

    @property
    def _outer_link(self) -> str:
        return f"{self.name}-o"

    @property
    def _inner_link(self) -> str:
        return f"{self.name}-i"

    def create(self) -> None:
        _ip("netns", "add", self.name)
        _ip("link", "add", self._outer_link, "type", "veth", "peer", "name", self._inner_link)
        _ip("link", "set", self._inner_link, "netns", self.name)
        _ip("addr", "add", f"{self.gateway}/30", "dev", self._outer_link)
        _ip("link", "set", self._outer_link, "up")
        _ip("-n", self.name, "addr", "add", f"{self.address}/30", "dev", self._inner_link)
        _ip("-n", self.name, "link", "set", self._inner_link, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")

    def destroy(self) -> None:
        """Kill what still runs inside, then remove the link and the namespace (if they exist)."""
        if self.name in _namespaces():
            pids = _ip("netns", "pids", self.name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _wait_gone([int(pid) for pid in pids])
        # Removing either end removes both; the namespace's own then goes with the namespace.
        _ip("link", "del", self._outer_link, check=False)
        _ip("netns", "del", self.name, check=False)

    def popen(self, args: Sequence[str], **kwargs) -> subprocess.Popen:
        """Start `args` inside the host. `ip netns exec` execs it: the pid is the command's."""
        return subprocess.Popen([IP, "netns", "exec", self.name, *args], **kwargs)

    def reaches(self, host: str, port: int) -> bool:
        """Whether a connection from inside the host to `host:port` is accepted."""
        probe = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)"
        process = self.popen(
            [sys.executable, "-c", probe, host, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return process.wait(timeout=30) == 0


def _namespaces() -> set[str]:
    return {line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()}


def _wait_gone(pids: list[int], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        time.sleep(0.05)


@dataclass
class Listener:
    """One of the relay's listening addresses, in `namespace` (None: this one), and how many
    connections it accepted: the proof that a host's traffic went the way the test says."""

    address: tuple[str, int]
    namespace: str | None
    accepted: int = 0


class Relay:
    """TCP forwarders: each listens on an address and pipes every connection it accepts to a
    target, both ways, until either side closes; a thread per direction, as blocking sockets
    add the least delay per round trip (an asyncio loop in Python added two to four times
    as much to a PostgreSQL query)."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def forward(
        self, listen: tuple[str, int], target: tuple[str, int], *, namespace: str | None = None
    ) -> Listener:
        """Listen on `listen` (at once) and pipe each connection to `target`, both inside
        `namespace` when one is given: a relay on a host, from its loopback to its gateway."""
        if namespace is None:
            server = socket.create_server(listen)
        else:
            # Only the thread that calls setns moves, and a socket stays in the namespace it was
            # made in: a short-lived thread makes it there, and the caller's stays here.
            with ThreadPoolExecutor(1) as pool:
                server = pool.submit(_server_in, namespace, listen).result()
        self._sockets.append(server)
        listener = Listener(listen, namespace)
        threading.Thread(
            target=self._accept, args=(server, listener, target), name="relay", daemon=True
        ).start()
        return listener

    def _accept(self, server: socket.socket, listener: Listener, target: tuple[str, int]) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed by close()
                return
            with self._lock:
                listener.accepted += 1
            threading.Thread(
                target=self._connect,
                args=(client, target, listener.namespace),
                name="relay",
                daemon=True,
            ).start()

    def _connect(
        self, client: socket.socket, target: tuple[str, int], namespace: str | None
    ) -> None:
        try:
            if namespace is not None:
                _enter(namespace)  # this thread only: it connects, then pipes
            upstream = socket.create_connection(target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        pair = (client, upstream)
        with self._lock:
            self._open.update(pair)
        for sock in pair:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = threading.Thread(target=_pipe, args=(upstream, client), name="relay", daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()
        with self._lock:
            self._open.difference_update(pair)
        for sock in pair:
            sock.close()

    def close(self) -> None:
        """Stop listening and cut every connection still open."""
        with self._lock:
            sockets = [*self._sockets, *self._open]
        for sock in sockets:
            # shutdown, not close: it wakes a thread blocked in accept() or recv() on Linux.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for server in self._sockets:
            server.close()


def _enter(namespace: str) -> None:
    """Move the calling thread, and only it, into a network namespace (os.setns is 3.12's)."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/run/netns/{namespace}") as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"could not enter network namespace {namespace}")


def _server_in(namespace: str, listen: tuple[str, int]) -> socket.socket:
    _enter(namespace)
    return socket.create_server(listen)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until end of stream, then cut both: none of the protocols relayed here (PostgreSQL,
    Redis, HTTP/1.1) goes on talking on a half-closed connection."""
    try:
        while data := source.recv(256 * 1024):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def hosts_linked(count: int) -> Iterator[tuple[list[Host], Relay]]:
    """`count` hosts, and a relay to bring them the services; on the way out, however it is
    left, the relay's connections are cut and the hosts removed with all that runs in them."""
    with _lock():
        hosts = [Host(f"{NAME_PREFIX}{chr(ord('a') + i)}", i + 1) for i in range(count)]
        for host in hosts:  # left by a run that was killed: ours, as we hold the lock
            host.destroy()
        used = _ip("-brief", "addr").stdout
        for host in hosts:
            if f"{host.gateway}/" in used or f"{host.address}/" in used:
                raise RuntimeError(
                    f"{host.gateway} or {host.address} is already used on this machine: the "
                    f"hosts test needs {SUBNET_PREFIX}.0.0/16 free"
                )
        relay = None
        # A run stopped with SIGTERM (a CI job's timeout) unwinds as from Ctrl-C, through this
        # `finally`: Python's default for SIGTERM would leave the hosts and what runs in them.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            for host in hosts:
                host.create()
            relay = Relay()
            yield hosts, relay
        finally:
            if relay is not None:
                relay.close()
            for host in hosts:
                host.destroy()
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One run's hosts at a time on this machine; the lock goes with its process."""
    with LOCK_PATH.open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another run has held {LOCK_PATH} for {LOCK_WAIT_SECONDS} s"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
