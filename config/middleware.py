"""What every request goes through before any view: the checks the admin, the API and the
webhooks share, and the time zone the signed-in person reads times in."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from notifications.staff import staff_time_zone

NUL_IN_QUERY = _("A query parameter contains a NUL character (%00), which no page accepts.")


class RefuseNulInQuery:
    """400 for a query string that holds a NUL character.

    PostgreSQL cannot store or compare text with one, so a filter or lookup built from such a
    parameter ended in a 500 (admin list filters, the template preview); no real link has one.
    Form fields and JSON bodies are checked where they are parsed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                # The API's error shape; a hand-made admin URL reads it as well. Refused ahead
                # of LocaleMiddleware, so in the language the request asks for here.
                with translation.override(translation.get_language_from_request(request)):
                    return JsonResponse({"detail": str(NUL_IN_QUERY)}, status=400)
        return self.get_response(request)


class StaffTimeZone:
    """Each request shows and reads times in the signed-in person's own time zone (the site's
    when they chose none, or nobody is signed in): the admin's pages, its forms and its charts.

    After AuthenticationMiddleware, which tells who is asking.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(staff_time_zone(request.user))
        try:
            return self.get_response(request)
        finally:
            # A thread serves other requests next: none inherits this person's zone.
            timezone.deactivate()
