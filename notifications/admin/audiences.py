"""The audiences' admin: static lists and segments, the live count of who a segment's rules
select, and each audience's members. The rule builder widget lives in `rule_builder.py`, the CSV
import that fills static lists in `imports.py`.

The live count (`count_view`) checks rules with the same `rules_clean` the save does.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications.audiences.query import audience_people, rules_people
from notifications.audiences.rules import (
    rules_clean,
)
from notifications.audiences.services import audience_delete, audience_save, audience_size_count
from notifications.errors import InvalidInput
from notifications.formats import number_text
from notifications.recipients.validators import clean_phone

from ..models import Audience, Recipient
from .attributes import SavedByServiceForm
from .base import ThroughServicesAdmin, age_text, change_link
from .imports import RecipientImportMixin
from .rule_builder import RuleBuilder, RulesField

# Recipients the live count shows as examples of who the rules select.
SAMPLE_SIZE = 10
MEMBERS_PER_PAGE = 50


class AudienceForm(SavedByServiceForm):
    """An audience, saved by `audience_save`: a segment's rules refused beside the builder."""

    class Meta:
        model = Audience
        fields = ["name", "description", "kind", "rules"]
        field_classes = {"rules": RulesField}

    def save_through_service(self, instance: Audience | None, data: dict[str, Any]) -> Audience:
        kind = data.get("kind") or (instance.kind if instance else Audience.Kind.STATIC)
        if kind == Audience.Kind.STATIC:
            # A builder filled in and then switched to a static list leaves rules behind.
            data.pop("rules", None)
        return audience_save(audience=instance, data=data)


@admin.register(Audience)
class AudienceAdmin(RecipientImportMixin, ThroughServicesAdmin):
    """Static lists and segments with their sizes and members, and the CSV import that fills
    static lists."""

    form = AudienceForm
    list_display = ["name", "kind", "size_text", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    radio_fields = {"kind": admin.HORIZONTAL}
    actions = ["delete_selected", "recount_sizes"]

    class Media:
        css = {"all": ["notifications/segment_builder.css"]}

    def get_fields(self, request: HttpRequest, obj: Audience | None = None) -> list[str]:
        if obj is None:
            return ["name", "description", "kind", "rules"]
        rules = ["rules"] if obj.kind == Audience.Kind.SEGMENT else []
        return ["name", "description", "kind", *rules, "size_text", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Audience | None = None) -> list[str]:
        # The kind decides what an audience is made of: chosen once, when it is made.
        return ["kind", "size_text", "created_at"] if obj else []

    def get_form(self, request: HttpRequest, obj: Audience | None = None, **kwargs: Any) -> type:
        form = super().get_form(request, obj, **kwargs)
        if "rules" in form.base_fields:
            form.base_fields["rules"].widget = RuleBuilder(audience=obj)
            form.base_fields["rules"].help_text = ""
        return form

    def save_model(self, request: HttpRequest, obj: Audience, form, change: bool) -> None:
        """Saved already: the form's last check was the save (SavedByServiceForm)."""

    def delete_through_service(self, obj: Audience) -> None:
        audience_delete(audience=obj)

    @admin.display(description=_("Size"), ordering="size")
    def size_text(self, obj: Audience) -> str:
        """A static list's kept size, exact; a segment's last count, with its age. Each links
        to the members the audience's page lists."""
        if obj.pk is None:
            return "—"
        url = reverse("admin:notifications_audience_change", args=[obj.pk]) + "#members"
        if obj.kind == Audience.Kind.STATIC:
            return format_html(
                '<a href="{}" class="audience-size">{}</a>', url, number_text(obj.size)
            )
        if obj.size_counted_at is None:
            return gettext("not counted yet")
        return format_html(
            '<a href="{}" class="audience-size">≈ {}</a> <span class="counted">{}</span>',
            url,
            number_text(obj.size),
            gettext("counted %(age)s") % {"age": age_text(obj.size_counted_at)},
        )

    @admin.action(description=_("Recount sizes"), permissions=["view"])
    def recount_sizes(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Count the selected segments again; a static list's size is always exact."""
        segments = list(queryset.filter(kind=Audience.Kind.SEGMENT).order_by("pk"))
        for segment in segments:
            audience_size_count(audience=segment)
        recounted = ngettext(
            "Recounted %(count)s segment.", "Recounted %(count)s segments.", len(segments)
        ) % {"count": number_text(len(segments))}
        self.message_user(request, recounted, messages.SUCCESS)
        if static := queryset.filter(kind=Audience.Kind.STATIC).count():
            self.message_user(
                request,
                ngettext(
                    "%(count)s static list left as it is: a static list's size is always exact.",
                    "%(count)s static lists left as they are: a static list's size is always "
                    "exact.",
                    static,
                )
                % {"count": number_text(static)},
                messages.INFO,
            )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        audience = self.get_object(request, unquote(object_id))
        if (
            request.method == "GET"
            and audience is not None
            and self.has_view_permission(request, audience)
        ):
            extra_context = {**(extra_context or {}), **members_context(request, audience)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="notifications_audience_import",
            ),
            path(
                "count/",
                self.admin_site.admin_view(self.count_view),
                name="notifications_audience_count",
            ),
            *super().get_urls(),
        ]

    def count_view(self, request: HttpRequest) -> HttpResponse:
        """How many recipients the posted rules select now, and the first ten of them; or the
        rules' problems, one sentence each (400).

        The body is JSON: `{"rules": {...}, "audience": id}`, the audience being the segment
        edited (so rules that include it are refused), absent or null for a new one.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return _count_refused([gettext('The request is {"rules": {...}, "audience": id}.')])
        audience = None
        if (audience_id := body.get("audience")) not in (None, ""):
            if not str(audience_id).isdigit():
                return _count_refused(
                    [
                        gettext("%(value)s is not the id of an audience.")
                        % {"value": repr(audience_id)}
                    ]
                )
            audience = Audience.objects.filter(pk=int(audience_id)).first()
        try:
            rules = rules_clean(body.get("rules"), audience=audience)
        except InvalidInput as exc:
            return _count_refused(exc.messages)
        people = rules_people(rules)
        sample = people.order_by("pk").only("external_id", "first_name", "last_name")
        count = people.count()
        return JsonResponse(
            {
                "count": count,
                # The count as the builder shows it, in the person's language.
                "count_text": ngettext("%(count)s recipient", "%(count)s recipients", count)
                % {"count": number_text(count)},
                "sample": [
                    {
                        "external_id": person.external_id,
                        "name": full_name(person),
                        "url": reverse("admin:notifications_recipient_change", args=[person.pk]),
                    }
                    for person in sample[:SAMPLE_SIZE]
                ],
                "errors": [],
            }
        )


def _count_refused(errors: list[str]) -> JsonResponse:
    return JsonResponse({"count": None, "sample": [], "errors": errors}, status=400)


def full_name(person: Recipient) -> str:
    """A recipient's first and last name, as far as they are known."""
    return " ".join(part for part in (person.first_name, person.last_name) if part)


def members_search(people: QuerySet[Recipient], query: str) -> QuerySet[Recipient]:
    """The recipients of `people` a search names: by external_id or phone (exactly), or by a
    part of their last name."""
    match = Q(external_id=query) | Q(last_name__icontains=query)
    with suppress(ValidationError):  # not a phone number: the other two still apply
        match |= Q(phone=clean_phone(query))
    return people.filter(match)


def members_context(request: HttpRequest, audience: Audience) -> dict[str, Any]:
    """The page of an audience's members its page shows (a static list's members, a
    segment's recipients as its rules select them now), searched, with the total and the
    links to the other pages."""
    query = request.GET.get("members_q", "").strip()
    people = audience_people(audience)
    if query:
        people = members_search(people, query)
    paginator = Paginator(
        people.order_by("pk").only("external_id", "phone", "first_name", "last_name"),
        MEMBERS_PER_PAGE,
    )
    page = paginator.get_page(request.GET.get("members_page"))
    return {
        "members": {
            "query": query,
            "total": paginator.count,
            "page": page,
            "rows": [
                {
                    "link": change_link("recipient", person.pk, person.external_id),
                    "name": full_name(person),
                    "phone": person.phone,
                }
                for person in page
            ],
            "previous": _members_page_url(query, page, -1),
            "next": _members_page_url(query, page, +1),
        }
    }


def _members_page_url(query: str, page: Page, step: int) -> str:
    """The link to the page of members `step` away from `page`, empty when there is none."""
    if not (page.has_previous() if step < 0 else page.has_next()):
        return ""
    number = page.number + step
    params = {"members_q": query, "members_page": number} if query else {"members_page": number}
    return "?" + urlencode(params) + "#members"
