""" "Your exports": the exports a worker writes for a person (`exports/jobs.py`), with their
progress, the time left at the pace measured so far, why one failed, and the file to download.

Every member of staff sees their own exports (a superuser sees everyone's); only the person who
asked, or a superuser, downloads a file. The page reloads itself while an export is being
written. Nobody adds or changes a job here: they come from the lists' export links.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.exports.jobs import export_job_time_left, export_jobs_mark_stale, export_path
from notifications.reasons import reason_text

from ..formats import number_text
from ..models import ExportJob
from .base import local_time_text
from .exports import XLSX_TYPE
from .live import duration_text

# How often the page reloads while one of its exports is queued or being written.
REFRESH_SECONDS = 3


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("file_name", "progress", "download", "requested")
    list_display_links = None
    change_list_template = "admin/notifications/exportjob/change_list.html"

    @admin.display(description=_("Status"))
    def progress(self, job: ExportJob) -> str:
        """'Writing: 120,000 of 1,000,000 rows · ≈ 3 min left'; a finished file says its rows,
        a failed one why."""
        if job.status == ExportJob.Status.FAILED:
            return format_html(
                '<span class="errornote">{}</span>',
                gettext("Failed: %(error)s") % {"error": reason_text(job.error)},
            )
        written, total = number_text(job.rows_written), number_text(job.rows_total)
        if job.status == ExportJob.Status.DONE:
            return ngettext("Ready: %(count)s row", "Ready: %(count)s rows", job.rows_written) % {
                "count": written
            }
        if job.status == ExportJob.Status.QUEUED:
            return ngettext(
                "Waiting for a worker: %(count)s row to write",
                "Waiting for a worker: %(count)s rows to write",
                job.rows_total,
            ) % {"count": total}
        text = ngettext(
            "Writing: %(written)s of %(total)s row",
            "Writing: %(written)s of %(total)s rows",
            job.rows_total,
        ) % {"written": written, "total": total}
        if job.rows_written >= job.rows_total:
            return gettext("%(progress)s · finishing the file") % {"progress": text}
        left = export_job_time_left(job)
        if left is None:
            return text
        return gettext("%(progress)s · %(duration)s left") % {
            "progress": text,
            "duration": duration_text(left),
        }

    @admin.display(description=_("Asked"), ordering="created_at")
    def requested(self, job: ExportJob) -> str:
        return local_time_text(job.created_at)

    @admin.display(description=_("File"))
    def download(self, job: ExportJob) -> str:
        if job.status != ExportJob.Status.DONE:
            return "—"
        url = reverse("admin:notifications_exportjob_download", args=[job.pk])
        return format_html('<a href="{}" class="export-download">{}</a>', url, gettext("Download"))

    # --- Who sees what: their own jobs, read-only. ------------------------------------------

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        # A superuser sees everyone's: whose each one is, too.
        if request.user.is_superuser:
            return (*self.list_display[:1], "requested_by", *self.list_display[1:])
        return self.list_display

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExportJob]:
        jobs = super().get_queryset(request).select_related("requested_by")
        if request.user.is_superuser:
            return jobs
        return jobs.filter(requested_by=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        return obj is None or request.user.is_superuser or obj.requested_by_id == request.user.pk

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExportJob | None = None) -> bool:
        return False

    # --- The list that refreshes itself, and the download. ----------------------------------

    def get_urls(self) -> list:
        download = path(
            "<int:pk>/download/",
            self.admin_site.admin_view(self.download_view),
            name="notifications_exportjob_download",
        )
        return [download, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # A job whose worker died shows as failed now, not at the next tick.
        export_jobs_mark_stale()
        working = self.get_queryset(request).filter(
            status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
        )
        extra = {
            **(extra_context or {}),
            "title": gettext("Your exports"),
            "refresh_seconds": REFRESH_SECONDS if working.exists() else None,
        }
        return super().changelist_view(request, extra)

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(ExportJob, pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        if job.status != ExportJob.Status.DONE or not export_path(job).is_file():
            raise Http404(gettext("This export is not ready, or its file has been removed."))
        content_type = XLSX_TYPE if job.file_format == ExportJob.Format.XLSX else "text/csv"
        return FileResponse(
            export_path(job).open("rb"),
            as_attachment=True,
            filename=job.file_name,
            content_type=content_type,
        )
