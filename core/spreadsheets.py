"""CSV for spreadsheets: formula-safe text cells and streamed lines, shared by every export and import.

A text cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return at
its start) is written with a leading apostrophe (CSV injection, OWASP); an import reads such an
apostrophe back off (`unneutralise`), so an exported file re-imports unchanged.
"""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Lines per chunk of a streamed response: fewer, larger chunks.
BATCH_LINES = 1000


class Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a generator."""

    def write(self, value: str) -> str:
        return value


def neutralise(value: str) -> str:
    """Prefix a cell starting with a formula character with `'`."""
    return "'" + value if value and value.startswith(FORMULA_STARTS) else value


def is_formula(value: str) -> bool:
    """A cell a spreadsheet would evaluate."""
    return bool(value) and value.startswith(FORMULA_STARTS)


def unneutralise(value: str) -> str:
    """Undo `neutralise`: `'=x` → `=x`; anything else is returned as it is."""
    return value[1:] if value.startswith("'") and is_formula(value[1:]) else value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable], *, text_columns: Iterable[int] = ()) -> Iterator[str]:
    """The header, then one CSV line per row, in chunks of `BATCH_LINES` lines; `text_columns` are neutralised."""
    writer = csv.writer(Echo())
    text_columns = tuple(text_columns)
    yield writer.writerow(header)
    batch = []
    for row in rows:
        row = list(row)
        for index in text_columns:
            row[index] = neutralise(row[index])
        batch.append(writer.writerow(row))
        if len(batch) == BATCH_LINES:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def csv_response(filename: str, lines: Iterable[str]) -> StreamingHttpResponse:
    """A streamed CSV attachment of `lines` (from `csv_lines`)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
