"""What every benchmark shares: result rows, the table, the machine, scratch databases, children.

A benchmark module exposes `run(*, smoke: bool) -> list[Row]`. Each row carries its own
ceiling: the same kind of work done the simplest possible way in the same run on the same
database, because absolute times on a shared machine drift and the ratio does not.

Scratch databases are never the operator's: a temporary SQLite file, or a PostgreSQL database
created fresh from `BENCH_DATABASE_URL` (its name plus a suffix of ours) and dropped afterwards.
Django runs only in child processes (`manage.py`, or a script), one database each, so the
runner can visit several databases and measure each child's peak memory on its own.
"""

from __future__ import annotations

import atexit
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SQLITE = "SQLite"
POSTGRESQL = "PostgreSQL"
# Not a secret: signs nothing that outlives a scratch database.
BENCH_SECRET_KEY = "benchmark-only-secret-key-never-used-for-real-data-0123456789"  # noqa: S105


@dataclass(frozen=True)
class Row:
    """One measurement and what to compare it with.

    `ratio` is `value / ceiling` unless given: for a rate, the share of the ceiling reached;
    for a time, how many times slower than the ceiling. `no_db_ceiling` is a second ceiling
    for rows that have one: the same work with no database at all (dispatch's client loop).
    `met` is None when there is no target (printed as "—"). `error` marks a benchmark that
    could not run; its other fields are empty.
    """

    benchmark: str
    case: str
    backend: str = ""
    value: float | None = None
    unit: str = ""
    ceiling: float | None = None
    ratio: float | None = None
    no_db_ceiling: float | None = None
    target: str = ""
    met: bool | None = None
    extra: str = ""
    error: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.ceiling:
            object.__setattr__(self, "ratio", self.value / self.ceiling)

    @classmethod
    def failure(cls, benchmark: str, error: BaseException | str, *, case: str = "") -> Row:
        """A row that says a benchmark failed, and why, instead of stopping the others."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return cls(benchmark=benchmark, case=case or "error", error=" ".join(text.split())[:300])


COLUMNS = (
    "benchmark",
    "case",
    "backend",
    "value",
    "ceiling",
    "ratio",
    "no-DB ceiling",
    "target",
    "met",
    "extra",
)


def format_number(value: float | None) -> str:
    """Readable at a glance: thousands separated, few decimals for small numbers."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cells(row: Row) -> list[str]:
    unit = f" {row.unit}" if row.unit else ""
    if row.error:
        return [row.benchmark, row.case, row.backend, "ERROR", "", "", "", "", "", row.error]
    met = "—" if row.met is None else ("yes" if row.met else "no")
    return [
        row.benchmark,
        row.case,
        row.backend,
        format_number(row.value) + unit,
        format_number(row.ceiling) + unit if row.ceiling is not None else "—",
        f"{row.ratio:.3g}" if row.ratio is not None else "—",
        format_number(row.no_db_ceiling) + unit if row.no_db_ceiling is not None else "—",
        row.target or "—",
        met,
        row.extra,
    ]


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * 4 + ["---"] * 3) + "|",
    ]
    for row in rows:
        cells = [cell.replace("|", "\\|") for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    """One line: CPU model and count, RAM, Python, and PostgreSQL when one is configured."""
    model = platform.processor() or platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    parts = [f"{os.cpu_count()} x {model}"]
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        parts.append(f"{pages / 2**30:.0f} GB RAM")
    except (ValueError, OSError):
        pass
    parts.append(f"Python {platform.python_version()}")
    if bench_database_url():
        parts.append(postgresql_version())
    return ", ".join(parts)


def postgresql_version() -> str:
    """`PostgreSQL 15.2` for the server behind BENCH_DATABASE_URL, or why it is unknown."""
    import psycopg

    try:
        with psycopg.connect(_server_url(bench_database_url()), connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return f"PostgreSQL {version.split()[0]}"
    except psycopg.Error as error:
        return f"PostgreSQL unreachable ({type(error).__name__})"


def bench_database_url() -> str:
    """BENCH_DATABASE_URL, or "" when only SQLite should be used."""
    return os.environ.get("BENCH_DATABASE_URL", "").strip()


def backends() -> list[str]:
    """The backends to measure: SQLite always, PostgreSQL when BENCH_DATABASE_URL is set."""
    return [SQLITE, POSTGRESQL] if bench_database_url() else [SQLITE]


def preferred_backend() -> str:
    """PostgreSQL when configured (production's database), else SQLite."""
    return POSTGRESQL if bench_database_url() else SQLITE


@dataclass(frozen=True)
class ChildResult:
    """What a child process did: its exit code, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    def check(self, what: str) -> ChildResult:
        """Self, or an error that carries the end of the child's stderr."""
        if self.returncode != 0:
            tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{what} exited with {self.returncode}: {' / '.join(tail)}")
        return self


def run_child(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path = ROOT, check: str = ""
) -> ChildResult:
    """Run `argv` to completion; measure its wall time and peak RSS (that process's own).

    `os.wait4` gives the child's own rusage; `RUSAGE_CHILDREN` would be the maximum over
    every child this process ever had. Output goes to files so nothing blocks on a pipe.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is KiB on Linux.
        result = ChildResult(
            process.returncode, out.read(), err.read(), seconds, usage.ru_maxrss / 1024
        )
    return result.check(check) if check else result


@dataclass
class ScratchDatabase:
    """A database of our own for one benchmark, and a directory for its files."""

    backend: str
    url: str
    directory: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment for a Django child process on this database."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": BENCH_SECRET_KEY,
            "DATABASE_URL": self.url,
            "DEBUG": "False",
            "SECURE_SSL_REDIRECT": "False",
            "SESSION_COOKIE_SECURE": "False",
            "CSRF_COOKIE_SECURE": "False",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
            **overrides,
        }

    def manage(self, *args: str, env: dict[str, str] | None = None) -> ChildResult:
        """`manage.py <args>` in a child process; an error if it fails."""
        return run_child(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env or self.env(),
            check=f"manage.py {args[0] if args else ''}",
        )

    def python(self, *args: str, env: dict[str, str] | None = None) -> ChildResult:
        """`python <args>` in a child process with Django's environment; an error if it fails.

        For a script: call `django.setup()` first (DJANGO_SETTINGS_MODULE is set).
        """
        return run_child([sys.executable, *args], env=env or self.env(), check="python child")

    def migrate(self) -> None:
        """Create the schema."""
        self.manage("migrate", "--noinput", "-v0")

    def sql(self, statements: str | Sequence[str]) -> None:
        """Run raw SQL (seeding), outside Django, in one transaction."""
        if isinstance(statements, str):
            statements = [statements]
        with connect(self) as conn:
            for statement in statements:
                conn.execute(statement)
            conn.commit()


@contextmanager
def connect(database: ScratchDatabase) -> Iterator:
    """A DB-API connection to the scratch database (psycopg or sqlite3), closed afterwards."""
    if database.backend == POSTGRESQL:
        import psycopg

        conn = psycopg.connect(database.url)
    else:
        conn = sqlite3.connect(urlsplit(database.url).path.removeprefix("/") or ":memory:")
        conn.execute("PRAGMA journal_mode=WAL")
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def scratch_database(
    backend: str | None = None, *, label: str = "bench", migrate: bool = True
) -> Iterator[ScratchDatabase]:
    """A fresh database for one benchmark, migrated unless told otherwise; gone afterwards.

    `backend` is SQLITE or POSTGRESQL (default: `preferred_backend()`). PostgreSQL needs
    BENCH_DATABASE_URL; the database created is its name + `_<label>_<pid>`, so concurrent runs
    never share one, and only that database is ever dropped.
    """
    backend = backend or preferred_backend()
    with tempfile.TemporaryDirectory(prefix=f"vestnik-{label}-") as scratch:
        directory = Path(scratch)
        if backend == SQLITE:
            path = directory / "bench.sqlite3"
            if migrate:
                _copy_sqlite(_sqlite_template(), path)
            # sqlite:////abs/path: an absolute path after the scheme's slashes.
            yield ScratchDatabase(SQLITE, f"sqlite:///{path}", directory)
            return
        base = bench_database_url()
        if not base:
            raise RuntimeError("PostgreSQL needs BENCH_DATABASE_URL")
        parts = urlsplit(base)
        name = f"{parts.path.lstrip('/') or 'vestnik_bench'}_{label}_{os.getpid()}"
        name = re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]
        _admin_sql(base, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        try:
            url = urlunsplit(parts._replace(path=f"/{name}"))
            yield _migrated(ScratchDatabase(POSTGRESQL, url, directory), migrate)
        finally:
            _admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_sqlite_template_path: Path | None = None


def _sqlite_template() -> Path:
    """A migrated SQLite database, made once per run: copying it beats migrating each time."""
    global _sqlite_template_path
    if _sqlite_template_path is None:
        directory = Path(tempfile.mkdtemp(prefix="vestnik-bench-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        template = ScratchDatabase(SQLITE, f"sqlite:///{directory / 'template.sqlite3'}", directory)
        template.migrate()
        _sqlite_template_path = directory / "template.sqlite3"
    return _sqlite_template_path


def _copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies what the WAL holds too; a file copy might miss it.
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _migrated(database: ScratchDatabase, migrate: bool) -> ScratchDatabase:
    if migrate:
        database.migrate()
    return database


def _server_url(url: str) -> str:
    """The same server, its maintenance database: where CREATE/DROP DATABASE run."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _admin_sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: `share` 0.99 is p99."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]
