"""The benchmarks still run: `python -m benchmarks --smoke` on tiny sizes, no error rows.

Benchmarks are not tests (nothing here judges speed); this only keeps their code from rotting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import MODULES as BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent
# Every benchmark, as `python -m benchmarks` knows them.
MODULES = ",".join(BENCHMARKS)


# The smoke runs on scratch SQLite databases whatever DATABASE_URL says (it is dropped below):
# CI's PostgreSQL pass would only repeat its SQLite pass.
@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the smoke runs on SQLite either way: once per CI run, on the SQLite pass",
)
def test_smoke_run_prints_a_table_without_errors():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--only", MODULES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    benchmarks = {line.split("|")[1].strip() for line in rows[1:]}
    assert benchmarks == set(MODULES.split(",")), result.stdout
    assert not [line for line in rows if "ERROR" in line], result.stdout
