"""Exports: a campaign's deliveries as CSV and as Excel, through the admin's own export view.

Each export runs in a child process of its own, so its peak resident memory is that process's
alone; two sizes show whether memory stays flat as the rows grow. The child calls the
delivery list's export view (`ExportMixin.export_view`) with the list filtered to one
campaign, exactly as the "Export CSV" and "Export Excel" links do, and writes the streamed
body to a file.

The ceiling is the same rows written the simplest way in the same run, also in a child: a
bare `csv.writer` over a `values_list` iterator of the same columns, and for Excel the same
rows through openpyxl's write-only workbook directly.
"""

from __future__ import annotations

import json
import sys

from benchmarks import seed
from benchmarks.common import (
    Row,
    ScratchDatabase,
    backends,
    format_table,
    machine,
    scratch_database,
)

FULL_SIZES = (100_000, 1_000_000)
SMOKE_SIZES = (300, 1_000)
TARGET_PEAK_MB = 300

EXPORT = """
import django, json, time
django.setup()
from django.conf import settings
# The view itself writing every size: above this a worker writes the file (exports/jobs.py).
settings.EXPORT_BACKGROUND_ROWS = 10**9
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from notifications.models import Delivery
request = RequestFactory().get("/", {{"campaign__id__exact": {campaign_id}}})
request.user = get_user_model().objects.get(username="bench")
started = time.perf_counter()
response = admin.site._registry[Delivery].export_view(request, "{file_format}")
written = 0
with open("{path}", "wb") as out:
    for block in response.streaming_content:
        written += out.write(block)
response.close()
print(json.dumps({{"seconds": time.perf_counter() - started, "bytes": written}}))
"""

CEILING = """
import django, json, time, csv
django.setup()
from notifications.models import Delivery
started = time.perf_counter()
rows = Delivery.objects.filter(campaign_id={campaign_id}).order_by("-pk").values_list(
    "campaign__name", "recipient__external_id", "recipient__first_name",
    "recipient__last_name", "address", "status", "content_version", "attempts", "sent_at",
    "error",
).iterator(chunk_size=2000)
if "{file_format}" == "csv":
    with open("{path}", "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
else:
    from openpyxl import Workbook
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append([value.replace(tzinfo=None) if hasattr(value, "tzinfo") else value
                      for value in row])
    workbook.save("{path}")
print(json.dumps({{"seconds": time.perf_counter() - started}}))
"""


def _child(database: ScratchDatabase, script: str, **values: object) -> tuple[dict, float]:
    child = database.python("-c", script.format(**values))
    return json.loads(child.stdout.strip().splitlines()[-1]), child.peak_mb


def measure(database: ScratchDatabase, sizes: tuple[int, ...]) -> list[Row]:
    seed.recipients(database, max(sizes))
    specs = {f"export-{n}": {"channel": seed.CHANNEL, "status": "completed"} for n in sizes}
    # The export view needs a member of staff; this one lives only in the scratch database.
    ids = seed.campaigns(database, specs, admin_password="bench-password")  # noqa: S106
    for size in sizes:
        seed.deliveries(database, ids["campaigns"][f"export-{size}"], size)
    rows = []
    for size in sizes:
        campaign_id = ids["campaigns"][f"export-{size}"]
        for file_format in ("csv", "xlsx"):
            path = database.directory / f"export.{file_format}"
            report, peak_mb = _child(
                database, EXPORT, campaign_id=campaign_id, file_format=file_format, path=path
            )
            ceiling, ceiling_peak_mb = _child(
                database,
                CEILING,
                campaign_id=campaign_id,
                file_format=file_format,
                path=database.directory / f"ceiling.{file_format}",
            )
            met = None
            if size == max(FULL_SIZES):
                met = peak_mb < TARGET_PEAK_MB
            rows.append(
                Row(
                    benchmark="exports",
                    case=f"{size:,} deliveries, {'Excel' if file_format == 'xlsx' else 'CSV'}",
                    backend=database.backend,
                    value=size / report["seconds"],
                    unit="rows/s",
                    ceiling=size / ceiling["seconds"],
                    target=f"peak < {TARGET_PEAK_MB} MB at {max(FULL_SIZES):,} rows",
                    met=met,
                    extra=f"{report['seconds']:.1f} s, peak {peak_mb:.0f} MB "
                    f"(bare writer {ceiling_peak_mb:.0f} MB), "
                    f"{report['bytes'] / 2**20:.0f} MB file",
                )
            )
            path.unlink()
    return rows


def run(*, smoke: bool) -> list[Row]:
    """Both sizes, both formats, on every backend."""
    sizes = SMOKE_SIZES if smoke else FULL_SIZES
    rows = []
    for backend in backends():
        with scratch_database(backend, label="exports") as database:
            rows.extend(measure(database, sizes))
    return rows


if __name__ == "__main__":
    print(f"# Exports, {machine()}")
    print(format_table(run(smoke="--smoke" in sys.argv)))
