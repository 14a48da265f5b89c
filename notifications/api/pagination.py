"""Cursor pages: stable under inserts, and as fast on the millionth row as on the first."""

from django.conf import settings
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Newest first by id; `page_size` may be asked for up to `API_MAX_PAGE_SIZE`."""

    ordering = "-id"
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        # Read per request so settings (and tests overriding them) take effect.
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE


class NameCursorPagination(IdCursorPagination):
    """By name, for rows whose key is their name (the attribute registry)."""

    ordering = "name"
