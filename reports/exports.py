"""CSV export of the movement stream: one line per movement, streamed, safe to open in a spreadsheet."""

from collections.abc import Iterable, Iterator

from core.spreadsheets import csv_lines as _csv_lines

from .selectors import MOVEMENT_COLUMNS

_TEXT_COLUMNS = (1, 2, 3, 4, 7, 8, 9)  # warehouse, sku, product, kind, actor, reference, reason


def _with_iso_times(movements: Iterable[tuple]) -> Iterator[tuple]:
    for row in movements:
        yield (row[0].isoformat(), *row[1:])


def csv_lines(movements: Iterable[tuple]) -> Iterator[str]:
    """The header, then one CSV line per movement tuple (`MOVEMENT_COLUMNS` order); formula cells neutralised."""
    return _csv_lines(MOVEMENT_COLUMNS, _with_iso_times(movements), text_columns=_TEXT_COLUMNS)
