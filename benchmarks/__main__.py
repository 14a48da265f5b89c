"""`python -m benchmarks [--smoke] [--only name,...]`: every benchmark, one table.

Modules are imported one at a time, when their turn comes, so a module that is broken (or
still being written) becomes an error row and the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from datetime import UTC, datetime

from benchmarks.common import Row, format_table, machine

MODULES = (
    "import_recipients",
    "materialise",
    "dispatch",
    "limits",
    "retention",
    "webhooks",
    "admin_api",
    "growth",
    "audiences",
    "exports",
)


def run_module(name: str, *, smoke: bool) -> list[Row]:
    """The module's rows, or one error row saying why it failed."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        rows = list(module.run(smoke=smoke))
    except Exception as error:  # one failed benchmark must not stop the rest
        traceback.print_exc(file=sys.stderr)
        return [Row.failure(name, error)]
    print(f"{name}: {len(rows)} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the code runs")
    parser.add_argument("--only", default="", help=f"comma-separated, of: {', '.join(MODULES)}")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()] or list(MODULES)
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    started = datetime.now(UTC)
    rows = [row for name in MODULES if name in names for row in run_module(name, smoke=args.smoke)]
    size = "smoke sizes" if args.smoke else "full sizes"
    print(f"Benchmarks, {size}, {started:%Y-%m-%d %H:%M} UTC on {machine()}\n")
    print(format_table(rows))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
