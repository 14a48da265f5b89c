"""What every admin here stands on: saving and deleting through the services, read-only history,
and the links and history tables the pages share.

Pages stay fast on large tables: history on a detail page shows the newest rows with a link to the
full filtered list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Field as DbField
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.errors import REFUSALS, InvalidInput
from notifications.formats import number_text
from notifications.reasons import reason_text

from ..models import Delivery

HISTORY_ROWS = 20


def changelist_link(model: type, label: str, **filters: object) -> str:
    """A link to a model's admin list, filtered."""
    url = reverse(f"admin:notifications_{model._meta.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), label)


def reason_field(model: type[Model], field: str) -> Callable[[Model], str]:
    """A read-only field or column showing the reason stored in `field` (`notifications.reasons`)
    in the reader's language. Named after the field, so the model's help text still shows."""

    def value(obj: Model) -> str:
        return reason_text(getattr(obj, field))

    value.__name__ = field
    value.short_description = model._meta.get_field(field).verbose_name  # type: ignore[attr-defined]
    return value


def history_table(
    rows: QuerySet, columns: list[tuple[str, Callable[[Any], object]]], more_link: str
) -> str:
    """A read-only table of the newest rows, and a link to all of them."""
    items = list(rows[:HISTORY_ROWS])
    if not items:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((title,) for title, _ in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((value(item),) for _, value in columns)),)
            for item in items
        ),
    )
    more = format_html("<p>{}</p>", more_link)
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, more
    )


def admin_link(obj: object, label: object = None) -> str:
    """A link to an object's admin page, labelled with the object unless told otherwise."""
    if obj is None:
        return "—"
    return change_link(obj._meta.model_name, obj.pk, label if label is not None else obj)


def change_link(model_name: str, pk: int | None, label: object) -> str:
    """A link to an object's admin page by id, without loading the object."""
    if pk is None:
        return "—"
    url = reverse(f"admin:notifications_{model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, label)


class ShownValuesMixin:
    """Each form field also carries the value staff were shown, so `changed_data` means what
    they changed rather than what differs from the row as it is now."""

    def formfield_for_dbfield(
        self, db_field: DbField, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            formfield.show_hidden_initial = True
        return formfield


class ThroughServicesAdmin(ShownValuesMixin, admin.ModelAdmin):
    """An admin whose saves and deletions are the domain services', never its own writes.

    A service may refuse with a sentence (InvalidInput, StateConflict, NotFound): staff see it
    and nothing changes.
    A save hands the service only what staff changed (see ShownValuesMixin), and what an import,
    a worker or another person wrote after the form opened stays.
    """

    actions = ["delete_selected"]

    # Not an abc.abstractmethod: ModelAdmin's metaclass (MediaDefiningClass) is not ABCMeta,
    # and a combined metaclass for one method would cost more than it says.
    def delete_through_service(self, obj: Model) -> None:
        """Delete one object by calling its service; each admin names its own."""
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            # Raised inside the view's transaction: the save and its log entry rolled back.
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(request.path)

    def get_deleted_objects(self, objs, request: HttpRequest) -> tuple:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # No one deletes a delivery by itself; whether one goes along with what references it
        # is the service's rule (a forgotten recipient's do, off the counters; a campaign that
        # has any cannot be deleted), not a permission staff lack.
        perms_needed.discard(Delivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.delete_through_service(obj)

    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except REFUSALS as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", object_id)

    @admin.action(description=_("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Django's confirmation page, then the service for each object: the ones it refuses
        stay, each with its reason, and the others go.

        The confirmation is checked as the page checks it: a permission the deletion needs and
        the user lacks is 403, and protected objects refuse the whole action.
        """
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        _, _, perms_needed, protected = self.get_deleted_objects(queryset, request)
        if perms_needed:
            raise PermissionDenied
        if protected:
            self.message_user(
                request,
                gettext(
                    "Cannot delete the selected %(objects)s: these depend on them and are "
                    "protected: %(protected)s."
                )
                % {
                    "objects": self.opts.verbose_name_plural,
                    "protected": "; ".join(strip_tags(p) for p in protected),
                },
                messages.ERROR,
            )
            return None
        deleted, refused = 0, []
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, [obj])
                    self.delete_through_service(obj)
            except REFUSALS as exc:
                refused.append(str(exc))
            else:
                deleted += 1
        if deleted:
            label = self.opts.verbose_name if deleted == 1 else self.opts.verbose_name_plural
            text = ngettext(
                "Successfully deleted %(count)d %(items)s.",
                "Successfully deleted %(count)d %(items)s.",
                deleted,
            ) % {"count": deleted, "items": label}
            self.message_user(request, text, messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)
        return None


def refusal_on_form(form: forms.Form, refusal: Exception) -> None:
    """Show a service's refusal on `form`: beside the field an InvalidInput names, when the form
    has that field, else above the form."""
    fields = getattr(refusal, "error_dict", {})
    if isinstance(refusal, InvalidInput) and fields and set(fields) <= set(form.fields):
        form.add_error(None, refusal)
    else:
        form.add_error(None, str(refusal))


def changed_values(form: forms.ModelForm, change: bool) -> dict:
    """The form's values to save: all of them for a new object, else what staff changed."""
    names = form.changed_data if change else form.cleaned_data
    return {name: form.cleaned_data[name] for name in names}


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the system only; staff read it.

    Not deleted either: a deleted delivery would still count in its campaign's counters.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def local_time_text(value: datetime) -> str:
    """A moment in the person's time zone (the site's, if they chose none), in their language,
    as the pages show it: '6 Dec, 07:15' this year, '6 Dec 2027, 07:15' another (the
    language's SHORT_DATETIME_FORMAT and DATETIME_FORMAT, config/formats)."""
    local = timezone.localtime(value)
    same_year = local.year == timezone.localtime().year
    return date_format(local, "SHORT_DATETIME_FORMAT" if same_year else "DATETIME_FORMAT")


def until_text(value: datetime) -> str:
    """How far off a future moment is, as people say it: 'in 5 min', 'in 3 h 10 min',
    'in 4 days 2 h'."""
    minutes = round((value - timezone.now()).total_seconds() / 60)
    if minutes < 1:
        return gettext("in less than a minute")
    if minutes < 60:
        return gettext("in %(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes:
            return gettext("in %(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        return gettext("in %(hours)s h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    if hours:
        return ngettext("in %(days)s day %(hours)s h", "in %(days)s days %(hours)s h", days) % {
            "days": number_text(days),
            "hours": hours,
        }
    return ngettext("in %(days)s day", "in %(days)s days", days) % {"days": number_text(days)}


def moment_text(value: datetime) -> str:
    """A moment as the pages show it, in the person's time zone, with how far off it is when
    it is still to come: '6 Dec, 07:15', '6 Dec, 18:30 (in 3 h 10 min)'."""
    if value > timezone.now():
        return gettext("%(moment)s (%(until)s)") % {
            "moment": local_time_text(value),
            "until": until_text(value),
        }
    return local_time_text(value)


def age_text(moment: datetime) -> str:
    """How long ago a count was made, as people say it: 'just now', '5 min ago', '2 h ago'."""
    minutes = int((timezone.now() - moment).total_seconds() // 60)
    if minutes < 1:
        return gettext("just now")
    if minutes < 60:
        return gettext("%(minutes)s min ago") % {"minutes": minutes}
    if minutes < 48 * 60:
        return gettext("%(hours)s h ago") % {"hours": minutes // 60}
    days = minutes // (24 * 60)
    return ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": number_text(days)}
