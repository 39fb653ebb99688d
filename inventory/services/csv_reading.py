"""Reading an imported CSV file (SPEC §13): streamed, UTF-8 with or without BOM, every problem collected.

`read_rows` stops past `MAX_ROWS` rows; the caller refuses a file over `MAX_BYTES` before reading it.
A problem of the whole file raises `InvalidFile` at once (`row: None`); `Row` reads one row's cells
and collects what is wrong with them, so the import can report every bad row.
"""

import codecs
import csv
import datetime
from collections.abc import Iterable, Iterator

from core.spreadsheets import is_formula, unneutralise

from ..errors import InvalidFile, RowError

MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _text_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """Decode a binary stream as UTF-8 (a leading BOM dropped), chunk by chunk; a bad byte raises UnicodeDecodeError."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    pending = ""
    for chunk in binary:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def read_rows(binary: Iterable[bytes], *, required: tuple[str, ...], optional: tuple[str, ...]
              ) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Parse a CSV file into `(columns, [(row number, {column: cell})])`; unknown columns are dropped.

    Raises InvalidFile for a problem of the whole file: not UTF-8, not CSV, empty, a wrong header,
    more than `MAX_ROWS` rows (reading stops there). Blank lines are skipped (they keep their number).
    """
    known = required + optional
    reader = csv.reader(_text_lines(binary), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    columns: list[str] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if number == 1:
                columns = _header(record, required=required)
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) == MAX_ROWS:
                raise InvalidFile([RowError(None, None, f"The file has more than {MAX_ROWS} rows (the header "
                                                        "not counted); split it.")])
            cells = dict(zip(columns, record, strict=False))
            row = {name: cells[name] for name in known if name in cells}
            if len(record) > len(columns):
                row["__extra__"] = "1"
            rows.append((number, row))
    except UnicodeDecodeError:
        raise InvalidFile([RowError(None, None, "The file is not UTF-8 text.")]) from None
    except csv.Error as exc:
        raise InvalidFile([RowError(number + 1, None, f"The file is not valid CSV: {exc}.")]) from None
    if number == 0:
        raise InvalidFile([RowError(None, None, "The file is empty.")])
    return [name for name in columns if name in known], rows


def _header(record: list[str], *, required: tuple[str, ...]) -> list[str]:
    columns = [cell.strip().lower() for cell in record]
    errors = [RowError(None, name, f"The header lacks the column {name!r}.") for name in required
              if name not in columns]
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    errors += [RowError(None, name, f"The column {name!r} appears more than once.") for name in repeated]
    if errors:
        raise InvalidFile([*errors, RowError(None, None, f"Expected a header with {', '.join(required)}.")])
    return columns


class Row:
    """Reads the cells of one row, collecting what is wrong with them."""

    def __init__(self, number: int, cells: dict[str, str], errors: list[RowError]):
        self.number, self.cells, self.errors = number, cells, errors
        self.ok = True
        if cells.pop("__extra__", None):
            self.fail(None, "The row has more values than the header has columns.")

    def fail(self, field: str | None, message: str, *, code: str | None = None) -> None:
        self.errors.append(RowError(self.number, field, message, code))
        self.ok = False

    def text(self, field: str, *, required: bool = False, limit: int | None = None) -> str | None:
        """The cell's text, stripped (None when the column is absent); refuses formulas, blanks if required."""
        if field not in self.cells:
            if required:
                self.fail(field, "This value is required.")
            return None
        value = self.cells[field].strip()
        if "\x00" in value:
            self.fail(field, "A NUL character (\\0) is not accepted in a text value.")
            return None
        if is_formula(value):
            self.fail(field, "A spreadsheet formula is not accepted here; put ' in front to store it as text.")
            return None
        value = unneutralise(value)
        if required and not value:
            self.fail(field, "This value is required.")
            return None
        if limit is not None and len(value) > limit:
            self.fail(field, f"At most {limit} characters.")
            return None
        return value

    def integer(self, field: str, *, maximum: int) -> int | None:
        """A whole number from 0 to `maximum`."""
        raw = (self.cells.get(field) or "").strip()
        if not raw:
            self.fail(field, "This value is required.")
            return None
        if not raw.lstrip("-").isdigit() or not raw.isascii():
            self.fail(field, f"Expected a whole number, got {raw[:40]!r}.")
            return None
        if len(raw.lstrip("-").lstrip("0")) > len(str(maximum)):  # before int(): no huge conversions
            self.fail(field, f"At most {maximum}, got a number of {len(raw)} digits.")
            return None
        value = int(raw)
        if value < 0:
            self.fail(field, f"Must not be negative, got {value}.")
        elif value > maximum:
            self.fail(field, f"At most {maximum}, got {value}.")
        else:
            return value
        return None

    def date(self, field: str) -> datetime.date | None:
        """An ISO date (`YYYY-MM-DD`); None when the column or the value is absent."""
        raw = (self.cells.get(field) or "").strip()
        if not raw:
            return None
        try:
            if len(raw) != 10 or not raw.isascii():
                raise ValueError
            return datetime.date.fromisoformat(raw)
        except ValueError:
            self.fail(field, f"Expected a date as YYYY-MM-DD, got {raw[:40]!r}.")
            return None

    def boolean(self, field: str) -> bool | None:
        """`true`/`false` (also 1/0, yes/no); None when the column or the value is absent."""
        raw = (self.cells.get(field) or "").strip().lower()
        if not raw:
            return None
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        self.fail(field, f"Expected true or false, got {raw[:40]!r}.")
        return None
