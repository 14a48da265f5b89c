"""Two checkouts' dispatch, measured in turn in one run: how a change is shown on a noisy machine.

    BENCH_DATABASE_URL=postgres://... python -m benchmarks.versus --base ../older-checkout

Runs `benchmarks.dispatch`'s own measure (PostgreSQL, limits off, its SQL ceiling beside it) in
each checkout, alternating A B, B A, ... so that drift hits both alike, and prints each round
and the medians. Each checkout runs its own code on its own scratch database and schema.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run inside a checkout: its own dispatch benchmark, measured as `make bench` measures it.
MEASURE = """
import json, sys
from benchmarks import dispatch as d
from benchmarks.common import POSTGRESQL, scratch_database
providers, workers, count = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
out = {}
with d.Emulator() as emulator, scratch_database(POSTGRESQL, label="versus") as database:
    env = database.env(**emulator.settings, VESTNIK_RATE_LIMITS_ENABLED="False", REDIS_URL="",
                       LOG_LEVEL="ERROR")
    d._child(database, env, "prepare", "--count", str(count))
    for provider in providers:
        row = d._measure(database, env, emulator, provider, workers, count)
        out[provider] = {"rate": row.value, "sql": row.ceiling, "error": row.error}
print(json.dumps(out))
"""


def measure(checkout: Path, providers: str, workers: int, count: int) -> dict:
    """One run of the dispatch measure in `checkout`: deliveries/s and SQL ceiling per provider."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, providers, str(workers), str(count)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{checkout}: the measure failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, type=Path, help="the other checkout (A)")
    parser.add_argument("--providers", default="imshop,leadconverter")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not os.environ.get("BENCH_DATABASE_URL"):
        raise SystemExit("Set BENCH_DATABASE_URL to a PostgreSQL server: this compares on it.")
    if not (args.base / "benchmarks" / "dispatch.py").exists():
        raise SystemExit(f"{args.base} is not a checkout with benchmarks/dispatch.py.")
    sides = {"A": args.base.resolve(), "B": ROOT}
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    for round_ in range(args.rounds):
        for side in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
            result = measure(sides[side], args.providers, args.workers, args.count)
            runs[side].append(result)
            print(round_ + 1, side, json.dumps(result), flush=True)
    for provider in args.providers.split(","):
        a = statistics.median(r[provider]["rate"] for r in runs["A"])
        b = statistics.median(r[provider]["rate"] for r in runs["B"])
        ceiling = statistics.median(r[provider]["sql"] for r in runs["B"])
        print(
            f"{provider}: A {a:,.0f}/s, B {b:,.0f}/s, B/A {b / a:.2f}; "
            f"B's SQL ceiling {ceiling:,.0f}/s, B's share {b / ceiling:.2f}"
        )


if __name__ == "__main__":
    main()
