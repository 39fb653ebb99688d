"""Pagination: page numbers for lists, a cursor for the ledger."""

from rest_framework import pagination
from rest_framework.exceptions import NotFound


def _bounded(parameters: list[dict], bounds: dict[str, dict]) -> list[dict]:
    """The pagination parameters with their bounds stated: `page` below 1 is a 404; a `page_size` above the maximum
    is served as the maximum and one below 1 as the default, so the schema offers the values taken as asked."""
    for parameter in parameters:
        parameter["schema"].update(bounds.get(parameter["name"], {}))
    return parameters


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, max 200) → `{count, next, previous, results}`."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_schema_operation_parameters(self, view):
        return _bounded(super().get_schema_operation_parameters(view), {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        })


class LedgerCursorPagination(pagination.CursorPagination):
    """Newest first by id; stable under concurrent inserts."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def get_schema_operation_parameters(self, view):
        return _bounded(super().get_schema_operation_parameters(view), {
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size}})

    def decode_cursor(self, request):
        # The position is an id; a forged cursor holding anything else is invalid, not a crash in the query.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
        return cursor
