"""The CSV import of recipients into a static audience, on the audiences' admin: a dry run
first, then the import of the file the dry run checked."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.audiences.services import audience_save
from notifications.errors import REFUSALS, InvalidInput
from notifications.recipients.reading import CsvFormatError, read_recipient_rows
from notifications.recipients.staging import (
    IMPORT_SESSION_KEY,
    staged_import_discard,
    staged_import_open,
    staged_import_save,
)
from notifications.recipients.upsert import ImportReport, recipients_import

from ..models import Audience
from .forms import RecipientImportForm

NO_NEW_AUDIENCE = _("You may not create audiences: choose an existing one.")


class RecipientImportMixin:
    """The import's two views for `AudienceAdmin` (its URL is in that admin's `get_urls`)."""

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV of recipients, see what a dry run would do, then confirm the import.

        Between the two steps the file waits in a temporary folder under a random name that only
        this person's session knows.
        """
        if not (
            request.user.has_perm("notifications.add_recipient")
            and request.user.has_perm("notifications.change_recipient")
        ):
            raise PermissionDenied
        may_add_audience = request.user.has_perm("notifications.add_audience")
        report, pending = None, None
        form = RecipientImportForm()
        if request.method == "POST" and "confirm" in request.POST:
            pending = request.session.pop(IMPORT_SESSION_KEY, None)
            if not pending or pending["token"] != request.POST["confirm"]:
                self.message_user(
                    request,
                    gettext("That check has expired: upload the file again."),
                    messages.ERROR,
                )
                return redirect("admin:notifications_audience_import")
            report = self._import_confirmed(request, pending, may_add_audience)
            if report is None:
                return redirect("admin:notifications_audience_import")
            pending = None
        elif request.method == "POST":
            form = RecipientImportForm(request.POST, request.FILES)
            if form.is_valid() and form.cleaned_data["new_audience"] and not may_add_audience:
                form.add_error("new_audience", NO_NEW_AUDIENCE)
            if form.is_valid():
                pending = staged_import_save(form.cleaned_data)
                try:
                    report = recipients_import(
                        rows=read_recipient_rows(form.cleaned_data["file"]),
                        audience=form.cleaned_data["audience"],
                        dry_run=True,
                    )
                except CsvFormatError as exc:
                    staged_import_discard(pending)
                    pending = None
                    form.add_error("file", str(exc))
                else:
                    request.session[IMPORT_SESSION_KEY] = pending
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import recipients from CSV"),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "pending": pending,
            "shown_rejections": report.rejected[:500] if report else [],
        }
        return TemplateResponse(request, "admin/notifications/audience/import.html", context)

    def _import_confirmed(
        self, request: HttpRequest, pending: dict, may_add_audience: bool
    ) -> ImportReport | None:
        """Import a file checked by a dry run; None (with a message) when it cannot be."""
        try:
            with staged_import_open(pending) as stream:
                audience = None
                if pending["audience_id"]:
                    audience = Audience.objects.filter(pk=pending["audience_id"]).first()
                if audience is None:
                    name = pending["new_audience"] or gettext("Import %(file)s") % {
                        "file": pending["filename"]
                    }
                    audience = Audience.objects.filter(name=name).first()
                    if audience is None and not may_add_audience:
                        raise InvalidInput(NO_NEW_AUDIENCE)
                    if audience is None:
                        audience = audience_save(audience=None, data={"name": name})
                report = recipients_import(rows=read_recipient_rows(stream), audience=audience)
        except FileNotFoundError:
            self.message_user(
                request, gettext("The checked file is gone: upload it again."), messages.ERROR
            )
            return None
        except (CsvFormatError, *REFUSALS) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        finally:
            staged_import_discard(pending)
        level = messages.WARNING if report.rejected else messages.SUCCESS
        self.message_user(
            request,
            gettext("%(audience)s: %(summary)s")
            % {"audience": audience, "summary": report.summary()},
            level,
        )
        return report
