"""CSV import throughput: N generated rows through `manage.py import_recipients`.

Runs against a scratch database of its own (see `common.scratch_database`), so it never touches
real data. Reports rows per second and the peak memory of the importing process. The ceiling
is the database's own bulk load of the same rows: `COPY` on PostgreSQL, `executemany` of one
prepared INSERT on SQLite, into a plain table of the same columns.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from benchmarks.common import (
    POSTGRESQL,
    Row,
    ScratchDatabase,
    backends,
    connect,
    format_table,
    machine,
    scratch_database,
)

CITIES = ["Kazan", "Moscow", "Perm", "Omsk", "Tver"]
HEADER = [
    "external_id",
    "phone",
    "first_name",
    "last_name",
    "leadconverter",
    "bitrix24",
    "city",
    "tier",
]
FULL_ROWS = 100_000
SMOKE_ROWS = 500


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
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


def bulk_load_seconds(database: ScratchDatabase, csv_path: Path) -> float:
    """The ceiling: the same rows straight into a plain table, the database's fastest way."""
    import time

    columns = ", ".join(f"{name} text" for name in HEADER)
    with connect(database) as conn:
        conn.execute(f"CREATE TABLE bench_ceiling ({columns})")
        started = time.perf_counter()
        if database.backend == POSTGRESQL:
            with conn.cursor().copy("COPY bench_ceiling FROM STDIN (FORMAT csv, HEADER)") as copy:
                copy.write(csv_path.read_bytes())
        else:
            with csv_path.open(newline="", encoding="utf-8") as source:
                reader = csv.reader(source)
                next(reader)
                marks = ", ".join("?" * len(HEADER))
                conn.executemany(f"INSERT INTO bench_ceiling VALUES ({marks})", reader)
        conn.commit()
        return time.perf_counter() - started


def measure(database: ScratchDatabase, rows: int) -> Row:
    csv_path = database.directory / "recipients.csv"
    write_csv(csv_path, rows)
    child = database.manage("import_recipients", str(csv_path), "--audience", "bench")
    ceiling_seconds = bulk_load_seconds(database, csv_path)
    return Row(
        benchmark="import_recipients",
        case=f"{rows:,} CSV rows",
        backend=database.backend,
        value=rows / child.seconds,
        unit="rows/s",
        ceiling=rows / ceiling_seconds,
        extra=f"{child.seconds:.1f} s, peak {child.peak_mb:.0f} MB",
    )


def run(*, smoke: bool, rows: int | None = None) -> list[Row]:
    """One import per backend (SQLite; PostgreSQL when BENCH_DATABASE_URL is set)."""
    count = rows or (SMOKE_ROWS if smoke else FULL_ROWS)
    results = []
    for backend in backends():
        with scratch_database(backend, label="import") as database:
            results.append(measure(database, count))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    args = parser.parse_args()
    print(f"# CSV import, {machine()}")
    print(format_table(run(smoke=False, rows=args.rows)))


if __name__ == "__main__":
    main()
