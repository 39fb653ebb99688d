"""CSV export of the movement stream: one line per movement, streamed, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Iterator

from .selectors import MOVEMENT_COLUMNS

# Text cells a spreadsheet would read as a formula get a leading apostrophe (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = (1, 2, 3, 4, 7, 8, 9)  # warehouse, sku, product, kind, actor, reference, reason
BATCH_LINES = 1000


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a generator."""

    def write(self, value: str) -> str:
        return value


def neutralise(value: str) -> str:
    """Prefix a cell starting with a formula character with `'`."""
    return "'" + value if value and value.startswith(_FORMULA_STARTS) else value


def csv_lines(movements: Iterable[tuple]) -> Iterator[str]:
    """The header, then one CSV line per movement tuple (`MOVEMENT_COLUMNS` order)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(MOVEMENT_COLUMNS)
    batch = []
    for row in movements:
        row = list(row)
        row[0] = row[0].isoformat()
        for index in _TEXT_COLUMNS:
            row[index] = neutralise(row[index])
        batch.append(writer.writerow(row))
        if len(batch) == BATCH_LINES:  # fewer, larger chunks for the streaming response
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
