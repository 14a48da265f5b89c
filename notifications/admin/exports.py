"""Export links on a list page: exactly the rows the list shows, as CSV or Excel.

The rows come from the list itself (`get_changelist_instance`), with its filters, search and
order, across all its pages, so the count on the page is the number of rows in the file.
Anyone who may view the list may export it. Up to `EXPORT_BACKGROUND_ROWS` rows the file
starts downloading at once: CSV is written as it is sent; an Excel workbook is built on disk and
then sent with its size, so the browser shows the download's progress either way. A longer list
is written by a worker (`exports/jobs.py`) and the person is taken to "Your exports"
(`export_jobs.py`), where the file waits for them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext

from notifications.errors import InvalidInput
from notifications.exports.columns import Export
from notifications.exports.jobs import ExportSource, export_job_create
from notifications.exports.writers import XLSX_MAX_ROWS, csv_stream, export_filename, xlsx_file
from notifications.formats import number_text
from notifications.models import ExportJob

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportMixin:
    """Adds "Export CSV" and "Export Excel" to a ModelAdmin's list.

    `export` builds what the file holds; `export_subjects` are list parameters (a filter's
    id) whose chosen row names the file, as in `deliveries-spring-sale-2026-12-06.csv`.
    """

    export: Callable[[], Export]
    export_subjects: tuple[tuple[str, type[Model]], ...] = ()
    change_list_template = "admin/notifications/export_change_list.html"

    def get_urls(self) -> list:
        opts = self.model._meta
        export = path(
            "export/<str:file_format>/",
            self.admin_site.admin_view(self.export_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if file_format not in ("csv", "xlsx"):
            raise Http404
        if not self.has_view_permission(request):
            raise PermissionDenied
        list_url = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist"
        )
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(f"{list_url}?e=1")
        export = type(self).export()
        queryset = changelist.get_queryset(request)
        # A streamed body is written after the middleware has restored the default zone.
        zone = timezone.get_current_timezone()
        filename = export_filename(
            export.name, self._export_subject(request), timezone.localdate(), file_format
        )
        if file_format == "xlsx" and changelist.result_count > XLSX_MAX_ROWS:
            self.message_user(
                request,
                ngettext(
                    "Excel opens at most %(max)s rows and this list has %(count)s. Export CSV, "
                    "or narrow the list with its filters.",
                    "Excel opens at most %(max)s rows and this list has %(count)s. Export CSV, "
                    "or narrow the list with its filters.",
                    XLSX_MAX_ROWS,
                )
                % {
                    "max": number_text(XLSX_MAX_ROWS),
                    "count": number_text(changelist.result_count),
                },
                messages.ERROR,
            )
            return redirect(f"{list_url}{changelist.get_query_string()}")
        if changelist.result_count > settings.EXPORT_BACKGROUND_ROWS:
            if request.method == "POST":
                return self._export_later(request, changelist, file_format, filename)
            # A link may be followed by a prefetch or a second click: a job needs a button.
            return TemplateResponse(
                request,
                "admin/notifications/export_later.html",
                {
                    **self.admin_site.each_context(request),
                    "title": ngettext(
                        "Export %(count)s row in the background",
                        "Export %(count)s rows in the background",
                        changelist.result_count,
                    )
                    % {"count": number_text(changelist.result_count)},
                    "opts": self.model._meta,
                    "rows": changelist.result_count,
                    "file_name": filename,
                    "file_format": dict(ExportJob.Format.choices)[file_format],
                    "list_url": f"{list_url}{changelist.get_query_string()}",
                },
            )
        if file_format == "csv":
            response = StreamingHttpResponse(
                csv_stream(export.headings, export.rows(queryset), zone=zone),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = content_disposition_header(True, filename)
            return response
        workbook = xlsx_file(
            export.headings, export.rows(queryset), title=export.name.capitalize(), zone=zone
        )
        return FileResponse(workbook, as_attachment=True, filename=filename, content_type=XLSX_TYPE)

    def _export_later(
        self, request: HttpRequest, changelist, file_format: str, filename: str
    ) -> HttpResponse:
        """Hand a long list to a worker and take the person to their exports."""
        opts = self.model._meta
        job = export_job_create(
            user=request.user,
            list_model=opts.label_lower,
            query_string=changelist.get_query_string()[1:],
            file_format=file_format,
            file_name=filename,
            rows_total=changelist.result_count,
            time_zone=timezone.get_current_timezone_name(),
        )
        self.message_user(
            request,
            ngettext(
                "%(count)s row is more than a download can wait for: %(file)s is being written "
                "in the background. It appears here when ready.",
                "%(count)s rows are more than a download can wait for: %(file)s is being written "
                "in the background. It appears here when ready.",
                changelist.result_count,
            )
            % {"count": number_text(changelist.result_count), "file": job.file_name},
        )
        return redirect("admin:notifications_exportjob_changelist")

    def export_source(self, *, user: AbstractBaseUser, query_string: str) -> ExportSource:
        """The rows the list shows `user` with `query_string`, as the page would count them,
        for an export written by a worker; PermissionDenied if they may no longer view it."""
        request = HttpRequest()
        request.method = "GET"
        request.GET = QueryDict(query_string)
        request.user = user
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            raise InvalidInput(gettext("The list's filters are no longer valid.")) from exc
        return ExportSource(type(self).export(), changelist.get_queryset(request))

    def _export_subject(self, request: HttpRequest) -> str:
        """The name of the row a subject filter has chosen, or "" when none is."""
        for parameter, model in self.export_subjects:
            chosen = request.GET.get(parameter, "")
            if chosen.isdigit():
                found = model._default_manager.filter(pk=int(chosen)).first()
                if found is not None:
                    return str(found)
        return ""
