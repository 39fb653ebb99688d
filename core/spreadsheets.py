"""CSV for spreadsheets: formula-safe text cells and streamed lines, shared by every export and import.

A text cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return at
its start, full-width forms included) is written with a leading apostrophe (CSV injection, OWASP), and
so is a cell that starts with an apostrophe itself; an import reads that one apostrophe back off
(`unneutralise`), so an exported file re-imports unchanged.
"""

import csv
import unicodedata
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
    """Prefix with `'` a cell starting with a formula character, or with an apostrophe of its own (so a
    stored `'=x` exports as `''=x` and re-imports as `'=x`, not as `=x`)."""
    return "'" + value if is_formula(value) or (value and value.startswith("'")) else value


def is_formula(value: str) -> bool:
    """A cell a spreadsheet would evaluate: its first character is, after NFKC, a formula start (so the
    full-width `＝`, `＋`, `－`, `＠` and the small `﹦` count too)."""
    return bool(value) and unicodedata.normalize("NFKC", value[0]).startswith(FORMULA_STARTS)


def unneutralise(value: str) -> str:
    """Undo `neutralise`: `'=x` → `=x`, `''x` → `'x`; anything else is returned as it is."""
    rest = value[1:]
    return rest if value.startswith("'") and (is_formula(rest) or rest.startswith("'")) else value


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
