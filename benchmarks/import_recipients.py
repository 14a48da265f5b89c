"""CSV import throughput: N generated rows through `manage.py import_recipients`.

Runs against a scratch database of its own (a temporary SQLite file, or a fresh PostgreSQL
database when BENCH_DATABASE_URL is set), so it never touches real data. Prints rows per second
and the peak memory of the importing process.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITIES = ["Kazan", "Moscow", "Perm", "Omsk", "Tver"]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "external_id",
                "phone",
                "first_name",
                "last_name",
                "leadconverter",
                "bitrix24",
                "city",
                "tier",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"cust-{i}",
                    f"7999{i:07d}",
                    f"Name{i}",
                    f"Surname{i}",
                    100_000 + i,
                    i + 1,
                    rng.choice(CITIES),
                    rng.choice(["gold", "silver", ""]),
                ]
            )


def run(rows: int, database_url: str) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        csv_path = scratch_dir / "recipients.csv"
        write_csv(csv_path, rows)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-key"),
            "DATABASE_URL": database_url or f"sqlite:///{scratch_dir / 'bench.sqlite3'}",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        if database_url:
            subprocess.run([*manage, "flush", "--noinput"], env=env, check=True, cwd=ROOT)
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        started = time.perf_counter()
        subprocess.run(
            [*manage, "import_recipients", str(csv_path), "--audience", "bench"],
            env=env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_mb": peak_kib / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    result = run(args.rows, database_url)
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"# CSV import on {backend}, {platform.machine()} {os.cpu_count()} cores")
    print("| rows | seconds | rows/s | peak MB |\n|---:|---:|---:|---:|")
    print(
        f"| {result['rows']:,} | {result['seconds']:.1f} | {result['rows_per_s']:,.0f} "
        f"| {result['peak_mb']:.0f} |"
    )


if __name__ == "__main__":
    main()
