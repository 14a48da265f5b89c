"""Exports written by a worker: a list too long to write while the browser waits becomes an
`ExportJob`, which a django-q2 task writes to a file through the same columns and writers as a
download, marking its progress as it goes.

The rows are the list's own: the job keeps the list's model and query string, and the task asks
that list's admin (`ExportMixin.export_source`) for the rows its page would count, as the person
who asked, so a permission taken away since then stops the export.

A job moves queued → running → done or failed, each move one conditional UPDATE, so a task
that arrives twice (the ORM broker hands a task out again after Q_RETRY) writes once, and a
worker whose job was given up as stale stops at its next progress mark. Files are removed
`EXPORT_KEEP_HOURS` after they were finished (`export_jobs_tidy`, from the tick).
"""

from __future__ import annotations

import logging
import secrets
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_q.exceptions import TimeoutException

from notifications.errors import InvalidInput
from notifications.models import ExportJob
from notifications.reasons import reason_encode
from notifications.sending.wake import enqueue

from .columns import Export
from .writers import csv_stream, xlsx_write

logger = logging.getLogger(__name__)

# Rows written between two progress marks: about a second of work for Excel, less for CSV.
PROGRESS_ROWS = 5_000

# Why a job failed, kept on it as reasons: the worker writes them, the person who asked reads
# them in their own language.
STALE_RUNNING = reason_encode("export_stale_running")
STALE_QUEUED = reason_encode("export_stale_queued")
NO_LONGER_ALLOWED = reason_encode("export_no_longer_allowed")
WRITE_FAILED = reason_encode("export_write_failed")


@dataclass(frozen=True)
class ExportSource:
    """What a list hands the worker: the export's columns and the rows its page counts."""

    export: Export
    queryset: QuerySet


def _list_source(job: ExportJob) -> ExportSource:
    """The rows of the job's list as its page would count them for the person who asked.

    The list's admin knows its filters, search and order; every process loads the admins
    (Django's admin app discovers them when it starts), the worker's too.
    """
    model_admin = admin.site.get_model_admin(apps.get_model(job.list_model))
    return model_admin.export_source(user=job.requested_by, query_string=job.query_string)


def export_job_create(
    *,
    user: AbstractBaseUser,
    list_model: str,
    query_string: str,
    file_format: str,
    file_name: str,
    rows_total: int,
    time_zone: str,
) -> ExportJob:
    """Record an export for a worker to write, and enqueue it."""
    if file_format not in ExportJob.Format.values:
        raise InvalidInput(
            gettext("No export as %(format)s.") % {"format": repr(file_format)},
            field="file_format",
        )
    job = ExportJob.objects.create(
        requested_by=user,
        list_model=list_model,
        query_string=query_string,
        file_format=file_format,
        file_name=file_name,
        rows_total=rows_total,
        time_zone=time_zone,
        # The worker has no visitor: it writes the file in the language of who asked for it.
        language=translation.get_language() or "",
    )
    enqueue(export_job_run, job.pk, timeout=settings.EXPORT_TIMEOUT_SECONDS)
    return job


class _GivenUp(Exception):
    """The job stopped being ours while we wrote it (failed as stale): stop writing."""


def _mark_progress(job_id: int, rows: int) -> None:
    moved = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).update(
        rows_written=rows, progress_at=timezone.now()
    )
    if not moved:
        raise _GivenUp


def _counted(job_id: int, rows: Iterable[tuple]) -> Iterator[tuple]:
    written = 0
    for written, row in enumerate(rows, start=1):
        yield row
        if written % PROGRESS_ROWS == 0:
            _mark_progress(job_id, written)
    _mark_progress(job_id, written)


def export_path(job: ExportJob) -> Path:
    """Where a finished job's file is."""
    return Path(settings.EXPORTS_DIR) / job.file


def _write(job: ExportJob, source: ExportSource, out_path: Path) -> None:
    zone = zoneinfo.ZoneInfo(job.time_zone)
    rows = _counted(job.pk, source.export.rows(source.queryset))
    with out_path.open("wb") as out:
        if job.file_format == ExportJob.Format.CSV:
            for block in csv_stream(source.export.headings, rows, zone=zone):
                out.write(block)
        else:
            xlsx_write(
                out, source.export.headings, rows, title=source.export.name.capitalize(), zone=zone
            )


def export_job_run(job_id: int) -> str:
    """Write a queued job's file (the worker's task); a job already taken is left alone."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=now, progress_at=now
    )
    if not claimed:
        return "not queued"
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    directory = Path(settings.EXPORTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{job.pk}-{secrets.token_hex(8)}.{job.file_format}"
    part = directory / f"{name}.part"
    try:
        # The list's date filters read the zone the person saw the list in, as its page did;
        # the file speaks their language.
        with (
            timezone.override(zoneinfo.ZoneInfo(job.time_zone)),
            translation.override(job.language or settings.LANGUAGE_CODE),
        ):
            source = _list_source(job)
            _write(job, source, part)
        part.rename(directory / name)
    except _GivenUp:
        part.unlink(missing_ok=True)
        return "given up"
    except PermissionDenied:
        part.unlink(missing_ok=True)
        return _fail(job_id, NO_LONGER_ALLOWED)
    except (InvalidInput, ValueError) as exc:
        part.unlink(missing_ok=True)
        return _fail(job_id, " ".join(getattr(exc, "messages", [str(exc)])))
    except TimeoutException:  # django-q2 stops a task at its time limit with this SystemExit
        part.unlink(missing_ok=True)
        _fail(job_id, reason_encode("export_timed_out", seconds=settings.EXPORT_TIMEOUT_SECONDS))
        raise
    except Exception:
        part.unlink(missing_ok=True)
        logger.exception("export job %s failed", job_id)
        _fail(job_id, WRITE_FAILED)
        raise
    done = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).update(
        status=ExportJob.Status.DONE, file=name, finished_at=timezone.now()
    )
    if not done:  # given up as stale while the file was being finished
        (directory / name).unlink(missing_ok=True)
        return "given up"
    return "done"


def _fail(job_id: int, error: str) -> str:
    ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.FAILED, error=error, finished_at=timezone.now())
    return "failed"


def export_jobs_mark_stale(*, now: datetime | None = None) -> int:
    """Fail the jobs whose worker is gone: running with no progress mark, or queued and never
    taken, for `EXPORT_STALE_MINUTES`. Returns how many.

    A stale job is failed rather than started again: a worker that died writing a list may die
    again on it (a task over its time limit, memory), and the person who asked sees why and
    decides, where a retry loop would hide it.
    """
    now = now or timezone.now()
    before = now - timedelta(minutes=settings.EXPORT_STALE_MINUTES)
    failed = 0
    for status, moment, error in (
        (ExportJob.Status.RUNNING, "progress_at", STALE_RUNNING),
        (ExportJob.Status.QUEUED, "created_at", STALE_QUEUED),
    ):
        failed += ExportJob.objects.filter(status=status, **{f"{moment}__lt": before}).update(
            status=ExportJob.Status.FAILED, error=error, finished_at=now
        )
    return failed


def export_jobs_purge(*, now: datetime | None = None) -> int:
    """Remove finished jobs and their files `EXPORT_KEEP_HOURS` after they finished. Returns
    how many jobs."""
    now = now or timezone.now()
    old = ExportJob.objects.filter(
        Q(status__in=[ExportJob.Status.DONE, ExportJob.Status.FAILED]),
        finished_at__lt=now - timedelta(hours=settings.EXPORT_KEEP_HOURS),
    )
    purged = 0
    for job in old.only("pk", "file"):
        if job.file:
            export_path(job).unlink(missing_ok=True)
        job.delete()
        purged += 1
    return purged


def export_jobs_tidy(*, now: datetime | None = None) -> dict[str, int]:
    """The tick's share: fail stale jobs, remove expired ones."""
    return {"stale": export_jobs_mark_stale(now=now), "purged": export_jobs_purge(now=now)}


def export_job_time_left(job: ExportJob, *, now: datetime | None = None) -> float | None:
    """Seconds until a running job is written, at the pace it has kept so far; None before
    its first progress mark."""
    if job.status != ExportJob.Status.RUNNING or not job.rows_written or not job.started_at:
        return None
    elapsed = ((job.progress_at or now or timezone.now()) - job.started_at).total_seconds()
    if elapsed <= 0:
        return None
    pace = job.rows_written / elapsed
    return max(0, job.rows_total - job.rows_written) / pace
