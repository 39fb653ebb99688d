"""Files in and out (SPEC §13): CSV imports of the catalogue and of stock, CSV exports of both.

Imports read the file with the standard library's `csv`, streaming, as UTF-8 with or without a BOM;
they stop reading past `MAX_ROWS` rows, and the caller refuses a file over `MAX_BYTES` before
reading it. Every row is validated before anything is written and every bad row is reported
(`{row, field, message}`; the header is row 1, a problem of the whole file has `row: None`) in one
`InvalidFile`. The writes are all or nothing, in one transaction; a dry run does the same work in a
savepoint and rolls it back, so it answers exactly what a real run would.

Text cells that a spreadsheet would evaluate (starting with `=`, `+`, `-`, `@`, tab, CR) are refused
as bad rows; an apostrophe in front of one (`'=x`, as the exports write such a value) is read back
off, so an exported file re-imports unchanged.
"""

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.audit import record_event
from core.errors import DomainError, InsufficientStock, PermissionDenied
from core.spreadsheets import is_formula, unneutralise
from warehouses.models import Warehouse

from .. import policies
from ..models import MAX_QUANTITY, Product, Stock, StockMovement
from .catalogue import DuplicateSku
from .stock import MAX_BALANCE, Kind, StockChange, apply_stock_changes

MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
PRODUCT_COLUMNS = ("sku", "name", "description", "unit", "is_active")
STOCK_COLUMNS = ("warehouse_code", "sku", "quantity", "note")
STOCK_EXPORT_COLUMNS = ("warehouse_code", "sku", "product", "quantity", "reserved", "available", "incoming",
                        "threshold")
MODES = ("assign", "set")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
# Longest text of each product column (the model's and the API's limits).
_PRODUCT_LIMITS = {"sku": 64, "name": 200, "description": 5000, "unit": 32}


@dataclass(frozen=True)
class RowError:
    """One problem of an imported file: its row (None for the whole file), the column, what is wrong."""

    row: int | None
    field: str | None
    message: str


class InvalidFile(DomainError):
    """The file was refused; `errors` lists every problem found, nothing was written."""

    code = "invalid_file"

    def __init__(self, errors: list[RowError]):
        noun = "problem" if len(errors) == 1 else "problems"
        super().__init__(f"The file was not imported: {len(errors)} {noun} found, nothing was written.",
                         errors=[asdict(error) for error in errors])


class _DryRun(Exception):
    """Raised inside a dry run's savepoint to roll it back."""


# --- reading ----------------------------------------------------------------------------------------


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


class _Row:
    """Reads the cells of one row, collecting what is wrong with them."""

    def __init__(self, number: int, cells: dict[str, str], errors: list[RowError]):
        self.number, self.cells, self.errors = number, cells, errors
        self.ok = True
        if cells.pop("__extra__", None):
            self.fail(None, "The row has more values than the header has columns.")

    def fail(self, field: str | None, message: str) -> None:
        self.errors.append(RowError(self.number, field, message))
        self.ok = False

    def text(self, field: str, *, required: bool = False, limit: int | None = None) -> str | None:
        """The cell's text, stripped (None when the column is absent); refuses formulas, blanks if required."""
        if field not in self.cells:
            if required:
                self.fail(field, "This value is required.")
            return None
        value = self.cells[field].strip()
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
        value = int(raw)
        if value < 0:
            self.fail(field, f"Must not be negative, got {value}.")
        elif value > maximum:
            self.fail(field, f"At most {maximum}, got {value}.")
        else:
            return value
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


def _in_savepoint(work, *, dry_run: bool):
    """Run `work()` in a savepoint; roll it back (and still return its answer) on a dry run."""
    result = None
    try:
        with transaction.atomic():
            result = work()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


# --- products --------------------------------------------------------------------------------------


@transaction.atomic
def import_products(*, actor, binary: Iterable[bytes], dry_run: bool = False, ip: str | None = None) -> dict:
    """Create the file's new SKUs and update the existing ones (SKU case-insensitive); all rows or none.

    Locks the existing products the file names (primary-key order). Raises PermissionDenied unless the
    actor may edit products, InvalidFile listing every bad row, DuplicateSku if a concurrent import
    created one of the SKUs. Returns `{created, updated, unchanged, dry_run}`.
    """
    if not policies.can_import_products(actor):
        raise PermissionDenied("Only an admin or a manager may import products.")
    columns, rows = read_rows(binary, required=("sku", "name"), optional=("description", "unit", "is_active"))
    errors: list[RowError] = []
    parsed, first_row_of = [], {}
    for number, cells in rows:
        row = _Row(number, cells, errors)
        values = {"sku": row.text("sku", required=True, limit=_PRODUCT_LIMITS["sku"]),
                  "name": row.text("name", required=True, limit=_PRODUCT_LIMITS["name"]),
                  "description": row.text("description", limit=_PRODUCT_LIMITS["description"]),
                  "unit": row.text("unit", limit=_PRODUCT_LIMITS["unit"]),
                  "is_active": row.boolean("is_active")}
        key = (values["sku"] or "").lower()
        if values["sku"] and key in first_row_of:
            row.fail("sku", f"The SKU {values['sku']!r} is already on row {first_row_of[key]}.")
        elif values["sku"]:
            first_row_of[key] = number
        if row.ok:
            parsed.append(values)
    if errors:
        raise InvalidFile(errors)

    def work():
        existing = {product.sku.lower(): product for product in _by_lower(
            Product.objects.select_for_update(), "sku", {values["sku"].lower() for values in parsed})}
        created, updated, unchanged = [], [], 0
        now = timezone.now()
        for values in parsed:
            product = existing.get(values["sku"].lower())
            if product is None:
                created.append(Product(sku=values["sku"], name=values["name"], description=values["description"] or "",
                                       unit=values["unit"] or "pcs",
                                       is_active=True if values["is_active"] is None else values["is_active"]))
                continue
            changes = {field: value for field, value in values.items()
                       if value is not None and field != "sku" and getattr(product, field) != value}
            if values["unit"] == "":
                changes.pop("unit", None)  # a blank unit keeps the product's
            if values["sku"] != product.sku:
                changes["sku"] = values["sku"]  # the file's spelling of the SKU wins
            if not changes:
                unchanged += 1
                continue
            for field, value in changes.items():
                setattr(product, field, value)
            product.updated_at = now
            updated.append(product)
        try:
            with transaction.atomic():
                Product.objects.bulk_create(created, batch_size=1000)
                Product.objects.bulk_update(updated, [*PRODUCT_COLUMNS, "updated_at"], batch_size=1000)
        except IntegrityError as exc:
            raise DuplicateSku("A product with one of these SKUs was created meanwhile; import again.") from exc
        summary = {"created": len(created), "updated": len(updated), "unchanged": unchanged}
        record_event(actor=actor, action="product.import", ip=ip,
                     data={**summary, "columns": columns, "skus_created": [p.sku for p in created[:50]],
                           "skus_updated": [p.sku for p in updated[:50]]})
        return summary

    return {**_in_savepoint(work, dry_run=dry_run), "dry_run": dry_run}


# --- stock -----------------------------------------------------------------------------------------


@transaction.atomic
def import_stock(*, actor, binary: Iterable[bytes], mode: str = "assign", dry_run: bool = False,
                 ip: str | None = None) -> dict:
    """Assign (`assign`: add the quantity) or set (`set`: make on-hand equal it) stock from a file.

    All rows or none; one ledger movement per changed row through the stock door (`assign`, or `adjust`
    with reason `count`), alerts as for any stock change. Locks: every stock row of the file, in
    primary-key order. Raises PermissionDenied unless the actor manages some warehouse, InvalidFile
    listing every bad row (unknown or foreign warehouses, unknown SKUs, bad quantities, repeated
    rows, inactive objects that would change, rows that would go below what is reserved). Returns
    `{changed, unchanged, dry_run}`.
    """
    if mode not in MODES:
        raise DomainError(f"mode must be one of {', '.join(MODES)}.")
    if not policies.may_import_stock_somewhere(actor):
        raise PermissionDenied("Only an admin or a warehouse's manager may import stock.")
    _, rows = read_rows(binary, required=("warehouse_code", "sku", "quantity"), optional=("note",))
    parsed, numbers, errors = _validate_stock_rows(actor, rows, mode=mode)
    if errors:
        raise InvalidFile(errors)
    changes = [StockChange(product_id=product.pk, warehouse_id=warehouse.pk, note=note,
                           **({"delta": quantity} if mode == "assign" else {"target": quantity}))
               for warehouse, product, quantity, note in parsed]

    def work():
        try:
            movements = apply_stock_changes(
                actor=actor, changes=changes, kind=Kind.ASSIGN if mode == "assign" else Kind.ADJUST,
                reason="" if mode == "assign" else StockMovement.Reason.COUNT)
        except InsufficientStock as exc:
            raise InvalidFile([RowError(numbers[index], "quantity", "This would take the stock below what is "
                                        "reserved or on hand.") for index in getattr(exc, "shortfalls", [0])]
                              ) from exc
        changed = sum(movement is not None for movement in movements)
        summary = {"changed": changed, "unchanged": len(changes) - changed}
        record_event(actor=actor, action="stock.import", ip=ip, data={**summary, "mode": mode})
        return summary

    return {**_in_savepoint(work, dry_run=dry_run), "dry_run": dry_run}


def _validate_stock_rows(actor, rows, *, mode: str):
    """Check every row; returns `([(warehouse, product, quantity, note)], [row number], [RowError])`."""
    warehouses = {w.code.lower(): w for w in _by_lower(Warehouse.objects.all(), "code", _cells(rows, "warehouse_code"))}
    products = {p.sku.lower(): p for p in _by_lower(Product.objects.all(), "sku", _cells(rows, "sku"))}
    current = _current_balances(warehouses.values(), products.values())
    errors: list[RowError] = []
    parsed, numbers, first_row_of = [], [], {}
    maximum = MAX_QUANTITY if mode == "assign" else MAX_BALANCE
    for number, cells in rows:
        row = _Row(number, cells, errors)
        code = row.text("warehouse_code", required=True)
        sku = row.text("sku", required=True)
        quantity = row.integer("quantity", maximum=maximum)
        note = row.text("note", limit=1000) or ""
        warehouse = warehouses.get((code or "").lower())
        product = products.get((sku or "").lower())
        if code and warehouse is None:
            row.fail("warehouse_code", f"No warehouse with code {code!r}.")
        elif warehouse is not None and not policies.can_import_stock(actor, warehouse):
            row.fail("warehouse_code", f"Warehouse {warehouse.code} is not one of the warehouses you manage.")
        if sku and product is None:
            row.fail("sku", f"No product with SKU {sku!r}.")
        if not row.ok:
            continue
        key = (warehouse.pk, product.pk)
        if key in first_row_of:
            row.fail("sku", f"{product.sku} in {warehouse.code} is already on row {first_row_of[key]}.")
            continue
        first_row_of[key] = number
        on_hand, reserved = current.get(key, (0, 0))
        changes = quantity != (0 if mode == "assign" else on_hand)
        if changes and not warehouse.is_active:
            row.fail("warehouse_code", f"Warehouse {warehouse.code} is inactive.")
        if changes and not product.is_active:
            row.fail("sku", f"Product {product.sku} is inactive.")
        if mode == "set" and quantity < reserved:
            row.fail("quantity", f"{reserved} units are reserved here; the quantity may not be below that.")
        if row.ok:
            parsed.append((warehouse, product, quantity, note))
            numbers.append(number)
    return parsed, numbers, errors


def _cells(rows, field: str) -> set[str]:
    """The distinct, lower-cased, non-blank values of one column."""
    return {unneutralise(cells[field].strip()).lower() for _, cells in rows if cells.get(field, "").strip()}


def _by_lower(queryset, field: str, keys: Iterable[str]) -> Iterator:
    """The objects whose lower-cased `field` is one of `keys` (the case-insensitive unique index answers)."""
    keys = sorted(keys)
    annotated = queryset.annotate(key_lower=Lower(field))
    for start in range(0, len(keys), 1000):
        yield from annotated.filter(key_lower__in=keys[start:start + 1000]).order_by("pk")


def _current_balances(warehouses, products) -> dict[tuple[int, int], tuple[int, int]]:
    """`(warehouse id, product id)` → (on hand, reserved), read without locks (the batch re-checks under them)."""
    reserved = F("reserved") if _has_field("reserved") else Value(0)
    product_ids = sorted(p.pk for p in products)
    balances = {}
    for start in range(0, len(product_ids), 1000):
        rows = Stock.objects.filter(warehouse_id__in=[w.pk for w in warehouses],
                                    product_id__in=product_ids[start:start + 1000]).annotate(
            held=reserved).values_list("warehouse_id", "product_id", "quantity", "held")
        balances.update({(w, p): (quantity, held) for w, p, quantity, held in rows})
    return balances


def _has_field(name: str) -> bool:
    return any(field.name == name for field in Stock._meta.get_fields())


# --- exports ---------------------------------------------------------------------------------------


def product_export_rows(queryset) -> Iterator[tuple]:
    """The import's columns for each product of `queryset`, read in chunks."""
    for sku, name, description, unit, is_active in queryset.values_list(*PRODUCT_COLUMNS).iterator(chunk_size=2000):
        yield sku, name, description, unit, "true" if is_active else "false"


def stock_export_rows(queryset) -> Iterator[tuple]:
    """`STOCK_EXPORT_COLUMNS` for each row of a `stock_levels_for` queryset, read in chunks.

    `reserved` and `incoming` are the stock row's columns where they exist (reservations, transfers in
    transit), else 0; `available` is `quantity − reserved`; `threshold` is empty when none is set.
    """
    rows = queryset.annotate(
        x_reserved=F("reserved") if _has_field("reserved") else Value(0),
        x_incoming=F("incoming") if _has_field("incoming") else Value(0),
    ).values_list("warehouse__code", "product__sku", "product__name", "quantity", "x_reserved", "x_incoming",
                  "threshold")
    for code, sku, name, quantity, reserved, incoming, threshold in rows.iterator(chunk_size=2000):
        yield code, sku, name, quantity, reserved, quantity - reserved, incoming, "" if threshold is None else threshold
