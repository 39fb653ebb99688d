"""Pagination: page numbers for lists, a cursor for the ledger."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 50, max 200) → `{count, next, previous, results}`."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class LedgerCursorPagination(pagination.CursorPagination):
    """Newest first by id; stable under concurrent inserts."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"
