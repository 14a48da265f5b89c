"""Checks every request gets before any view: the admin, the API and the webhooks alike."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_IN_QUERY = "A query parameter contains a NUL character (%00), which no page accepts."


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
                # The API's error shape; a hand-made admin URL reads it as well.
                return JsonResponse({"detail": NUL_IN_QUERY}, status=400)
        return self.get_response(request)
