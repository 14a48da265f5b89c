"""Webhook ingest: Sendios bodies of 100 events from concurrent clients against gunicorn.

The production server (`gunicorn -c config/gunicorn.conf.py config.wsgi`, 2 sync workers) on a
scratch database with campaigns, recipients and deliveries the events link to. Client processes
each post their own bodies, one after another: mostly distinct events (sent, some clicks and
losses) and a few repeats of earlier ones, as a sender retrying would. The ceiling is the same
clients and bodies against the same gunicorn serving a bare WSGI app that reads the body and
answers JSON.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path

from benchmarks import seed
from benchmarks.common import (
    POSTGRESQL,
    ROOT,
    Row,
    ScratchDatabase,
    format_table,
    machine,
    median,
    percentile,
    preferred_backend,
    scratch_database,
)

EVENTS_PER_BODY = 100
SECRET = "benchmark-webhook-secret"  # noqa: S105 - a scratch server's, for one run
PROJECT, TEMPLATE = 77, 15
TARGET_EVENTS_PER_S = 5_000
TARGET_P99_MS = 150
WORKERS = 2


def _sizes(smoke: bool) -> dict[str, int]:
    if smoke:
        return {"recipients": 300, "clients": 2, "bodies": 3, "warmup": 1}
    return {"recipients": 50_000, "clients": 4, "bodies": 60, "warmup": 4}


def make_bodies(count: int, recipients: int, *, first_sms_id: int, seed_value: int) -> list[bytes]:
    """`count` Sendios bodies of EVENTS_PER_BODY events; about 3% repeat an earlier event."""
    rng = random.Random(seed_value)
    ts = int(time.time()) - 3600
    bodies, earlier = [], []
    sms_id = first_sms_id
    for _ in range(count):
        events = {}
        for position in range(EVENTS_PER_BODY):
            if earlier and rng.random() < 0.03:
                event = rng.choice(earlier)
            else:
                sms_id += 1
                kind = rng.choices(["sms_sent", "sms_click", "sms_lost"], [85, 10, 5])[0]
                event = {
                    "event": kind,
                    "client_user_id": f"cust-{rng.randint(1, recipients)}",
                    "project_id": PROJECT,
                    "category_id": 1,
                    "template_id": TEMPLATE,
                    "sms_id": sms_id,
                    "ts": ts + rng.randint(0, 3000),
                    "omnichannel": 1,
                    "channel": "sms",
                }
                if kind == "sms_click":
                    event["link"] = f"https://shop.example.com/p/{rng.randint(1, 500)}"
                earlier.append(event)
            events[str(position)] = event
        events["sign"] = "0" * 32
        bodies.append(json.dumps(events).encode())
    return bodies


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict[str, str], directory: Path) -> Iterator[int]:
    """`gunicorn -c config/gunicorn.conf.py <app>` (production's settings, its access log
    included) with WORKERS sync workers on a free port; its port once it answers."""
    port = free_port()
    log = (directory / f"gunicorn-{port}.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            app,
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            # Stopping must not wait gunicorn's default 30 s for a busy worker.
            "--graceful-timeout",
            "5",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    text = (directory / f"gunicorn-{port}.log").read_text()[-500:]
                    raise RuntimeError(f"gunicorn did not start: {text}") from None
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def post_all(port: int, bodies: list[bytes]) -> list[tuple[float, int, bytes]]:
    """Post each body in turn (one connection each: sync workers close it); latency, answer."""
    auth = "Basic " + base64.b64encode(f"sendios:{SECRET}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    results = []
    for body in bodies:
        started = time.perf_counter()
        connection = HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/webhooks/sms/", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        connection.close()
        results.append((time.perf_counter() - started, response.status, answer))
    return results


def load(port: int, per_client: list[list[bytes]]) -> tuple[float, list[float], list[bytes]]:
    """All clients at once, each a process of its own; wall seconds, latencies, answers."""
    context = multiprocessing.get_context("fork")
    with context.Pool(len(per_client)) as pool:
        started = time.perf_counter()
        outcomes = pool.starmap(post_all, [(port, bodies) for bodies in per_client])
        seconds = time.perf_counter() - started
    latencies, answers = [], []
    for results in outcomes:
        for latency, status, answer in results:
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")
            latencies.append(latency)
            answers.append(answer)
    return seconds, latencies, answers


def bare_app(environ: dict, start_response) -> list[bytes]:
    """The ceiling: read the body, answer a small JSON object. No framework, no database."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"accepted": 0}']


def measure(database: ScratchDatabase, smoke: bool) -> list[Row]:
    sizes = _sizes(smoke)
    seed.recipients(database, sizes["recipients"])
    ids = seed.campaigns(
        database,
        {
            "sms": {
                "channel": seed.CHANNEL,
                "status": "running",
                "project": PROJECT,
                "template": TEMPLATE,
            }
        },
    )
    seed.members(database, ids["audiences"]["sms"], sizes["recipients"])
    seed.deliveries(database, ids["campaigns"]["sms"], sizes["recipients"])
    env = database.env(SMS_WEBHOOK_SECRETS=SECRET, ALLOWED_HOSTS="127.0.0.1,localhost")
    per_client = [
        make_bodies(
            sizes["bodies"],
            sizes["recipients"],
            first_sms_id=10**9 * (client + 1),
            seed_value=client,
        )
        for client in range(sizes["clients"])
    ]
    warmup = make_bodies(sizes["warmup"], sizes["recipients"], first_sms_id=10**12, seed_value=99)
    events = sum(len(bodies) for bodies in per_client) * EVENTS_PER_BODY
    with gunicorn("config.wsgi", env, database.directory) as port:
        load(port, [warmup[i : i + 1] for i in range(len(warmup))])
        seconds, latencies, answers = load(port, per_client)
    stored = sum(json.loads(a)["accepted"] + json.loads(a)["duplicates"] for a in answers)
    if stored != events:
        raise RuntimeError(f"{events} events posted, {stored} accepted or duplicate")
    with gunicorn("benchmarks.webhooks:bare_app", env, database.directory) as port:
        load(port, [warmup[i : i + 1] for i in range(len(warmup))])
        bare_seconds, bare_latencies, _ = load(port, per_client)

    rate, p50, p99 = events / seconds, median(latencies) * 1000, percentile(latencies, 0.99) * 1000
    bare_p50 = median(bare_latencies) * 1000
    bare_p99 = percentile(bare_latencies, 0.99) * 1000
    case = f"{sizes['clients']} clients x {sizes['bodies']} bodies x {EVENTS_PER_BODY} events"
    note = "" if database.backend == POSTGRESQL else " (SQLite: one writer at a time)"
    return [
        Row(
            benchmark="webhooks",
            case=case,
            backend=database.backend,
            value=rate,
            unit="events/s",
            ceiling=events / bare_seconds,
            target=f"≥ {TARGET_EVENTS_PER_S:,} events/s",
            met=None if smoke else rate >= TARGET_EVENTS_PER_S,
            extra=f"{seconds:.1f} s; gunicorn {WORKERS} workers{note}",
        ),
        Row(
            benchmark="webhooks",
            case="latency p50 per body",
            backend=database.backend,
            value=p50,
            unit="ms",
            ceiling=bare_p50,
        ),
        Row(
            benchmark="webhooks",
            case="latency p99 per body",
            backend=database.backend,
            value=p99,
            unit="ms",
            ceiling=bare_p99,
            target=f"< {TARGET_P99_MS} ms",
            met=None if smoke else p99 < TARGET_P99_MS,
        ),
    ]


def run(*, smoke: bool) -> list[Row]:
    """On PostgreSQL when BENCH_DATABASE_URL is set (production's database), else SQLite."""
    with scratch_database(preferred_backend(), label="webhooks") as database:
        return measure(database, smoke)


if __name__ == "__main__":
    print(f"# Webhook ingest, {machine()}")
    print(format_table(run(smoke="--smoke" in sys.argv)))
