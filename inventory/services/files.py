"""Files in and out (SPEC §13): CSV imports of the catalogue and of stock, CSV exports of both.

Imports read the file through `csv_reading` (the standard library's `csv`, streaming, UTF-8 with or
without a BOM, at most `MAX_ROWS` rows; the caller refuses a file over `MAX_BYTES` unread). Every
row is validated before anything is written and every bad row is reported (`{row, field, message}`;
the header is row 1, a problem of the whole file has `row: None`) in one `InvalidFile`. The writes
are all or nothing, in one transaction; a dry run does the same work in a savepoint and rolls it
back, so it answers exactly what a real run would.

Text cells that a spreadsheet would evaluate (starting with `=`, `+`, `-`, `@`, tab, CR) are refused
as bad rows; an apostrophe in front of one (`'=x`, as the exports write such a value) is read back
off, so an exported file re-imports unchanged.
"""

import datetime
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.audit import record_event
from accounts.services.locks import share_lock_actor
from core.db_router import replica_or_default
from core.errors import PermissionDenied
from core.identity import check_identifier, identity_key
from core.spreadsheets import unneutralise
from warehouses.models import Warehouse

from .. import locks, policies, switch_guards
from ..errors import (
    DuplicateSku,
    ImportBusy,
    InsufficientStock,
    InvalidImport,
    LotMismatch,
    LotRequired,
    NotLotTracked,
    ProductHasStock,
)
from ..lots import expired_expression
from ..models import MAX_QUANTITY, Lot, Product, Stock, StockLot, StockMovement
from . import lots as lot_door
from .csv_reading import MAX_BYTES, MAX_ROWS, InvalidFile, Row, RowError, read_rows
from .stock import MAX_BALANCE, Kind, StockChange, apply_stock_changes

PRODUCT_COLUMNS = ("sku", "name", "description", "unit", "is_active", "tracking")
STOCK_OPTIONAL_COLUMNS = ("note", "lot", "expires_on")
STOCK_LOT_EXPORT_COLUMNS = ("warehouse_code", "sku", "lot", "expires_on", "quantity")
STOCK_EXPORT_COLUMNS = ("warehouse_code", "sku", "product", "quantity", "reserved", "available", "incoming",
                        "threshold")
MODES = ("assign", "set")
_LOT_CODE_LIMIT = 50
# Longest text of each product column (the model's and the API's limits).
_PRODUCT_LIMITS = {"sku": 64, "name": 200, "description": 5000, "unit": 32}


class _DryRun(Exception):
    """Raised inside a dry run's savepoint to roll it back."""


def _in_savepoint(work, *, dry_run: bool):
    """Run `work()` in a savepoint; roll it back (and still return its answer) on a dry run.

    On PostgreSQL the import's transaction waits at most IMPORT_LOCK_TIMEOUT_MS for a row lock and runs
    no statement longer than IMPORT_STATEMENT_TIMEOUT_MS (`SET LOCAL`: they end with the transaction);
    either limit ends the work with ImportBusy (409 `conflict`), the savepoint rolled back.
    """
    _limit_lock_waits()
    result = None
    try:
        with transaction.atomic():
            result = work()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in (_LOCK_NOT_AVAILABLE, _QUERY_CANCELED):
            raise ImportBusy() from exc
        raise
    return result


_LOCK_NOT_AVAILABLE, _QUERY_CANCELED = "55P03", "57014"


def _limit_lock_waits() -> None:
    """`SET LOCAL lock_timeout` and `statement_timeout` for the rest of this transaction (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    lock_ms = int(getattr(settings, "IMPORT_LOCK_TIMEOUT_MS", 5000))
    statement_ms = int(getattr(settings, "IMPORT_STATEMENT_TIMEOUT_MS", 60000))
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                       [f"{lock_ms}ms", f"{statement_ms}ms"])


# --- products --------------------------------------------------------------------------------------


@transaction.atomic
def import_products(*, actor, binary: Iterable[bytes], dry_run: bool = False, ip: str | None = None) -> dict:
    """Create the file's new SKUs and update the existing ones (SKU case-insensitive); all rows or none.

    `tracking` (SPEC §14): `none` or `lot`; an empty cell (or no column) keeps an existing product's value,
    `none` for a new one. Changing it follows the switch rule: refused (a bad row, code `product_has_stock`)
    while a stock row of the product holds `quantity`, `reserved` or `incoming` above 0 or an open or
    submitted count has a line for it (`switch_guards.open_count_products`).

    Locks the actor's user row (FOR SHARE, `share_lock_actor`), then the existing products the file
    names (primary-key order; none on a dry run), then the stock rows of the products whose tracking
    changes (primary-key order: the switch's lock order, product then stock rows). Raises PermissionDenied
    unless the actor may edit products, InvalidFile listing every bad row, DuplicateSku if a concurrent
    import created one of the SKUs. Returns `{created, updated, unchanged, dry_run}`.
    """
    share_lock_actor(actor)  # first lock: a dismissal waits for this import, or this import sees it
    if not policies.can_import_products(actor):
        raise PermissionDenied("Only an admin or a manager may import products.")
    columns, rows = read_rows(binary, required=("sku", "name"),
                              optional=("description", "unit", "is_active", "tracking"))
    errors: list[RowError] = []
    parsed, first_row_of = [], {}
    for number, cells in rows:
        row = Row(number, cells, errors)
        values = {"sku": row.text("sku", required=True, limit=_PRODUCT_LIMITS["sku"]),
                  "name": row.text("name", required=True, limit=_PRODUCT_LIMITS["name"]),
                  "description": row.text("description", limit=_PRODUCT_LIMITS["description"]),
                  "unit": row.text("unit", limit=_PRODUCT_LIMITS["unit"]),
                  "is_active": row.boolean("is_active"),
                  "tracking": _tracking(row)}
        if values["sku"]:
            try:
                check_identifier(values["sku"])  # the identity rule of every path (core.identity)
            except ValidationError as exc:
                row.fail("sku", " ".join(exc.messages))
        key = identity_key(values["sku"])
        if values["sku"] and key in first_row_of:
            row.fail("sku", f"The SKU {values['sku']!r} is already on row {first_row_of[key]}.")
        elif values["sku"]:
            first_row_of[key] = number
        if row.ok:
            parsed.append((number, values))
    if errors:
        raise InvalidFile(errors)

    def work():
        keys = sorted({identity_key(values["sku"]) for _, values in parsed})
        # A dry run writes nothing, so it locks nothing: it reads the committed products.
        products = Product.objects.all() if dry_run else Product.objects.select_for_update(no_key=True)
        existing = {product.sku_key: product for start in range(0, len(keys), 1000)
                    for product in products.filter(sku_key__in=keys[start:start + 1000]).order_by("pk")}
        created, updated, unchanged = [], [], 0
        now = timezone.now()
        switching = {}
        for number, values in parsed:
            product = existing.get(identity_key(values["sku"]))
            if product is None:
                created.append(Product(sku=values["sku"], name=values["name"], description=values["description"] or "",
                                       unit=values["unit"] or "pcs",
                                       is_active=True if values["is_active"] is None else values["is_active"],
                                       tracking=values["tracking"] or Product.Tracking.NONE))
                continue
            changes = {field: value for field, value in values.items()
                       if value is not None and field != "sku" and getattr(product, field) != value}
            if values["unit"] == "":
                changes.pop("unit", None)  # a blank unit keeps the product's
            if values["tracking"] == "":
                changes.pop("tracking", None)  # a blank tracking keeps the product's
            if "tracking" in changes:
                switching[product.pk] = number
            if values["sku"] != product.sku:
                if _folded(values["sku"]) != _folded(product.sku):
                    # Same identity only through the confusables skeleton: a look-alike, never a new spelling.
                    raise DuplicateSku(f"The SKU {values['sku']!r} looks like the existing SKU {product.sku!r}.")
                changes["sku"] = values["sku"]  # the file's spelling of the SKU wins (case, width)
            if not changes:
                unchanged += 1
                continue
            for field, value in changes.items():
                setattr(product, field, value)
            product.updated_at = now
            updated.append(product)
        _refuse_busy_switches(switching, existing.values(), lock=not dry_run)
        if dry_run:
            return {"created": len(created), "updated": len(updated), "unchanged": unchanged}
        try:
            with transaction.atomic():
                Product.objects.bulk_create(created, batch_size=1000)
                Product.objects.bulk_update(updated, [*PRODUCT_COLUMNS, "updated_at"], batch_size=1000)
        except IntegrityError as exc:
            raise DuplicateSku("A product with one of these SKUs was created meanwhile; import again.") from exc
        summary = {"created": len(created), "updated": len(updated), "unchanged": unchanged}
        record_event(actor=actor, action="product.import", ip=ip,
                     data={**summary, "columns": columns, "skus_created": [p.sku for p in created[:50]],
                           "skus_updated": [p.sku for p in updated[:50]],
                           **({"tracking_switched": {p.sku: p.tracking for p in updated if p.pk in switching}}
                              if switching else {})})
        return summary

    return {**_in_savepoint(work, dry_run=dry_run), "dry_run": dry_run}


# --- stock -----------------------------------------------------------------------------------------


@transaction.atomic
def import_stock(*, actor, binary: Iterable[bytes], mode: str = "assign", dry_run: bool = False,
                 ip: str | None = None) -> dict:
    """Assign (`assign`: add the quantity) or set (`set`: make on-hand equal it) stock from a file.

    Optional columns `lot` and `expires_on` (SPEC §14): a row of a lot-tracked product acts on the lot it
    names (`set` makes that lot's balance equal `quantity`); without `lot` it is accepted only with `set`
    and the row's current quantity (it changes nothing). Rows apply in file order.

    All rows or none; one ledger movement per changed row through the stock door (`assign`, or `adjust`
    with reason `count`), alerts as for any stock change. Locks: the actor's user row (FOR SHARE); then
    the new lots the file names are created (before any stock row is locked, in the order of their
    product and code, so two imports creating the same lots wait on the lots' unique index in one order);
    then every stock row of the file, in primary-key order (none, and no lot created, on a dry run).
    Raises PermissionDenied unless the actor is active and manages some warehouse, InvalidFile listing
    every bad row (unknown or foreign warehouses, unknown SKUs, bad quantities, repeated rows, inactive
    objects that would change, rows that would go below what is reserved, lot problems with their code:
    `lot_required`, `not_lot_tracked`, `lot_mismatch`). Returns `{changed, unchanged, dry_run}`.
    """
    if mode not in MODES:
        raise InvalidImport(f"mode must be one of {', '.join(MODES)}.")
    share_lock_actor(actor)  # first lock: a dismissal waits for this import, or this import sees it
    if not policies.may_import_stock_somewhere(actor):
        raise PermissionDenied("Only an admin or a warehouse's manager may import stock.")
    _, rows = read_rows(binary, required=("warehouse_code", "sku", "quantity"), optional=STOCK_OPTIONAL_COLUMNS)
    parsed, errors, changing = _validate_stock_rows(actor, rows, mode=mode)
    if errors:
        raise InvalidFile(errors)
    if dry_run:
        # Validated against the committed balances, without a lock (it writes nothing, not even a new lot). A
        # real run re-checks under the row locks, so a row that changed meanwhile can still make it a bad row.
        return {"changed": changing, "unchanged": len(parsed) - changing, "dry_run": True}

    def work():
        created = _create_new_lots(parsed)  # before any stock row is locked (SPEC §14: no new lock order)
        # A row naming a lot that still does not exist changes nothing (its balance is 0 everywhere; the row
        # sets or adds 0): it is left out rather than creating an empty lot.
        applied = [row for row in parsed if row.lot is not None or not row.lot_code]
        changes = [StockChange(product_id=row.product.pk, warehouse_id=row.warehouse.pk, note=row.note,
                               lot_id=row.lot.pk if row.lot else None,
                               **({"delta": row.quantity} if mode == "assign" else {"target": row.quantity}))
                   for row in applied]
        try:
            movements = apply_stock_changes(
                actor=actor, changes=changes, kind=Kind.ASSIGN if mode == "assign" else Kind.ADJUST,
                reason="" if mode == "assign" else StockMovement.Reason.COUNT)
        except InsufficientStock as exc:
            raise InvalidFile([RowError(applied[index].number, "quantity", "This would take the stock below what "
                                        "is reserved or on hand.") for index in getattr(exc, "shortfalls", [0])]
                              ) from exc
        except (LotRequired, NotLotTracked) as exc:  # the product's tracking was switched since the validation
            row = applied[getattr(exc, "index", 0)]
            raise InvalidFile([RowError(row.number, "lot", str(exc.detail), exc.code)]) from exc
        changed = sum(movement is not None for movement in movements)
        summary = {"changed": changed, "unchanged": len(parsed) - changed}
        record_event(actor=actor, action="stock.import", ip=ip,
                     data={**summary, "mode": mode, **({"lots_created": created} if created else {})})
        return summary

    return {**_in_savepoint(work, dry_run=dry_run), "dry_run": dry_run}


@dataclass
class _StockRow:
    """One valid row of a stock file: `lot` is the lot it names when the lot exists (set for new lots once
    they are created); `expires_on` None when the cell is blank (not given)."""

    number: int
    warehouse: Warehouse
    product: Product
    quantity: int
    note: str
    lot_code: str | None = None
    lot: Lot | None = None
    expires_on: datetime.date | None = None
    changes: bool = False


def _create_new_lots(parsed: list[_StockRow]) -> int:
    """Create the lots the file names that did not exist at validation and that rows change (`resolve_lot`), in
    (product, code key) order, and point their rows at them; rows that change nothing only look the lot up (a
    lot created meanwhile). A lot created meanwhile with another date, or a product switched meanwhile, makes
    its rows bad rows (InvalidFile). Returns how many lots were created."""
    new: dict[tuple[int, str], list[_StockRow]] = {}
    for row in parsed:
        if row.lot_code and row.lot is None:
            new.setdefault((row.product.pk, identity_key(row.lot_code)), []).append(row)
    errors, created = [], 0
    for key in sorted(new):
        rows = new[key]
        dated = next((row.expires_on for row in rows if row.expires_on is not None), None)
        known = lot_door.find_lot(rows[0].product, rows[0].lot_code)  # None unless created meanwhile
        try:
            lot = lot_door.resolve_lot(product=rows[0].product, code=rows[0].lot_code,
                                       expires_on=lot_door.UNSET if dated is None else dated,
                                       create=any(row.changes for row in rows))
        except LotMismatch as exc:
            errors += [RowError(row.number, "expires_on", _mismatch_message(row.lot_code, exc.extra["expires_on"]),
                                exc.code) for row in rows if row.expires_on is not None]
            continue
        except (LotRequired, NotLotTracked) as exc:
            errors += [RowError(row.number, "lot", str(exc.detail), exc.code) for row in rows]
            continue
        created += known is None and lot is not None
        for row in rows:
            row.lot = lot
    if errors:
        raise InvalidFile(sorted(errors, key=lambda error: error.row))
    return created


def _mismatch_message(code: str, expires_on) -> str:
    known = expires_on.isoformat() if hasattr(expires_on, "isoformat") else expires_on
    return (f"Lot {code} expires on {known}; the date given differs." if known else
            f"Lot {code} has no expiry date; the date given differs.")


def _validate_stock_rows(actor, rows, *, mode: str):
    """Check every row against the committed balances (no locks), in file order (each row sees the rows before
    it); returns `([_StockRow], [RowError], how many rows would change)`."""
    warehouses = {w.code.lower(): w for w in _by_lower(Warehouse.objects.all(), "code", _cells(rows, "warehouse_code"))}
    products = {p.sku.lower(): p for p in _by_lower(Product.objects.all(), "sku", _cells(rows, "sku"))}
    current = _current_balances(warehouses.values(), products.values())
    lots = _known_lots(products.values(), rows)
    lot_balances = _current_lot_balances(warehouses.values(), lots.values())
    errors: list[RowError] = []
    parsed, first_row_of, changing = [], {}, 0
    row_after: dict[tuple[int, int], int] = {}
    lot_after: dict[tuple[int, int, str], int] = {}
    new_lot_dates: dict[tuple[int, str], tuple[datetime.date, int]] = {}
    maximum = MAX_QUANTITY if mode == "assign" else MAX_BALANCE
    for number, cells in rows:
        row = Row(number, cells, errors)
        code = row.text("warehouse_code", required=True)
        sku = row.text("sku", required=True)
        quantity = row.integer("quantity", maximum=maximum)
        note = row.text("note", limit=1000) or ""
        lot_code = row.text("lot", limit=_LOT_CODE_LIMIT) or None
        expires_on = row.date("expires_on")
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
        lot_key = identity_key(lot_code) if lot_code else None
        lot = lots.get((product.pk, lot_key)) if lot_key else None
        if not _lot_fits(row, product, lot_code, lot, expires_on, new_lot_dates):
            continue
        key = (warehouse.pk, product.pk, lot_key)
        if key in first_row_of:
            where = f" lot {lot_code}" if lot_code else ""
            row.fail("lot" if lot_code else "sku",
                     f"{product.sku}{where} in {warehouse.code} is already on row {first_row_of[key]}.")
            continue
        first_row_of[key] = number
        pair = (warehouse.pk, product.pk)
        on_hand_before, reserved = current.get(pair, (0, 0))
        on_hand = row_after.get(pair, on_hand_before)
        if lot_key:
            base = lot_after.get(key, lot_balances.get((warehouse.pk, lot.pk), 0) if lot else 0)
        else:
            base = on_hand
        delta = quantity if mode == "assign" else quantity - base
        if product.tracking == Product.Tracking.LOT and not lot_key and (mode == "assign" or delta):
            row.fail("lot", f"Product {product.sku} is lot-tracked: name the lot (a row without one is accepted "
                            f"only with mode=set and the row's current quantity, {on_hand}).", code="lot_required")
            continue
        changes = delta != 0
        if changes and not warehouse.is_active:
            row.fail("warehouse_code", f"Warehouse {warehouse.code} is inactive.")
        if changes and not product.is_active:
            row.fail("sku", f"Product {product.sku} is inactive.")
        if on_hand + delta > MAX_BALANCE:
            row.fail("quantity", f"This would take the stock past {MAX_BALANCE} units.")
        if changes and on_hand + delta < reserved:
            row.fail("quantity", f"{reserved} units are reserved here; the quantity may not be below that.")
        if row.ok:
            parsed.append(_StockRow(number, warehouse, product, quantity, note, lot_code, lot, expires_on, changes))
            changing += changes
            row_after[pair] = on_hand + delta
            if lot_key:
                lot_after[key] = base + delta
    return parsed, errors, changing


def _lot_fits(row: Row, product: Product, lot_code: str | None, lot: Lot | None, expires_on,
              new_lot_dates: dict) -> bool:
    """The row's `lot` and `expires_on` against the product's tracking and the known lot (SPEC §14's rules,
    as bad rows with their codes). A new lot's date is the one its rows give; rows giving another differ."""
    if product.tracking != Product.Tracking.LOT:
        if lot_code or expires_on is not None:
            row.fail("lot" if lot_code else "expires_on", f"Product {product.sku} is not lot-tracked: it has no lots.",
                     code="not_lot_tracked")
        return row.ok
    if expires_on is not None and not lot_code:
        row.fail("lot", f"Product {product.sku} is lot-tracked: an expiry date belongs to a lot; name it.",
                 code="lot_required")
    elif lot is not None and expires_on is not None and expires_on != lot.expires_on:
        row.fail("expires_on", _mismatch_message(lot.code, lot.expires_on), code="lot_mismatch")
    elif lot is None and lot_code:
        try:
            check_identifier(lot_code)  # the identity rule of every path that creates an identifier
        except ValidationError as exc:
            row.fail("lot", " ".join(exc.messages))
        if expires_on is not None:
            first_date, first_row = new_lot_dates.setdefault((product.pk, identity_key(lot_code)),
                                                             (expires_on, row.number))
            if first_date != expires_on:
                row.fail("expires_on", f"Lot {lot_code} is new; row {first_row} gives it the date "
                                       f"{first_date.isoformat()}.", code="lot_mismatch")
    return row.ok


def _cells(rows, field: str) -> set[str]:
    """The distinct, lower-cased, non-blank values of one column to look up (a value holding NUL cannot name
    anything and PostgreSQL refuses it in a query: its row is reported by `Row.text`)."""
    return {unneutralise(cells[field].strip()).lower() for _, cells in rows
            if cells.get(field, "").strip() and "\x00" not in cells[field]}


def _tracking(row: Row) -> str | None:
    """The `tracking` cell: `none` or `lot` (any case); "" when blank (keep), None when the column is absent."""
    value = row.text("tracking")
    if value is None or value == "":
        return value
    if value.lower() not in Product.Tracking.values:
        row.fail("tracking", f"Expected {' or '.join(Product.Tracking.values)}, got {value[:40]!r}.")
        return None
    return value.lower()


def _refuse_busy_switches(switching: dict[int, int], products, *, lock: bool) -> None:
    """The tracking switch rule for the products whose `tracking` the file changes (`switching`: product id →
    row number): refused while a stock row holds `quantity`, `reserved` or `incoming` above 0 or an open or
    submitted count has a line for the product; every such row is a bad row (`product_has_stock`).

    The product rows are locked already (FOR NO KEY UPDATE, unless a dry run); `lock` takes their tracking
    locks exclusively (`inventory.locks.lock_stock_rows_of_products`) and locks their stock rows too,
    in primary-key order, so an operation that reads `tracking` under its row lock either finished before
    this looked or sees the new value.
    """
    if not switching:
        return
    if lock:
        rows = locks.lock_stock_rows_of_products(switching)
    else:
        rows = Stock.objects.filter(product_id__in=sorted(switching))
    busy = {row.product_id for row in rows if row.quantity > 0 or row.reserved > 0 or row.incoming > 0}
    counted = switch_guards.open_count_products(switching)
    sku = {product.pk: product.sku for product in products}
    errors = [RowError(number, "tracking", f"Product {sku[product_id]} has units in stock, reserved or in transit, "
                                           "so its tracking cannot change." if product_id in busy else
                       f"Product {sku[product_id]} is on an open or submitted count, so its tracking cannot change.",
                       ProductHasStock.code)
              for product_id, number in sorted(switching.items(), key=lambda item: item[1])
              if product_id in busy or product_id in counted]
    if errors:
        raise InvalidFile(errors)


def _folded(text: str) -> str:
    """NFKC + casefold, without the skeleton: spellings that differ only in case or width fold alike."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()


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


def _known_lots(products, rows) -> dict[tuple[int, str], Lot]:
    """`(product id, code key)` → the existing lot, for the lot-tracked products and the lot codes of the file."""
    product_ids = [p.pk for p in products if p.tracking == Product.Tracking.LOT]
    keys = sorted({identity_key(code) for code in _cells(rows, "lot")})
    if not product_ids or not keys:
        return {}
    found = {}
    for start in range(0, len(keys), 1000):
        for lot in Lot.objects.filter(product_id__in=product_ids, code_key__in=keys[start:start + 1000]).order_by("pk"):
            found[(lot.product_id, lot.code_key)] = lot
    return found


def _current_lot_balances(warehouses, lots) -> dict[tuple[int, int], int]:
    """`(warehouse id, lot id)` → the lot's balance there, read without locks (the door re-checks under them)."""
    lot_ids = sorted(lot.pk for lot in lots)
    balances = {}
    for start in range(0, len(lot_ids), 1000):
        rows = StockLot.objects.filter(stock__warehouse_id__in=[w.pk for w in warehouses],
                                       lot_id__in=lot_ids[start:start + 1000]).values_list(
            "stock__warehouse_id", "lot_id", "quantity")
        balances.update({(w, lot): quantity for w, lot, quantity in rows})
    return balances


def _has_field(name: str) -> bool:
    return any(field.name == name for field in Stock._meta.get_fields())


# --- exports ---------------------------------------------------------------------------------------


def export_reads(queryset):
    """`queryset` on the database an export reads: the replica when one is configured and no transaction is
    open on the primary (`core.db_router.replica_or_default`), else the primary. Asked when the stream starts."""
    return queryset.using(replica_or_default())


def product_export_rows(queryset) -> Iterator[tuple]:
    """The import's columns (with `tracking`) for each product of `queryset`, read in chunks (from the replica
    when one is set).

    Exports are reads that may lag (issue 15, 5b): streamed after the view returned, so the alias is chosen
    here, when the first row is read (`replica_or_default`: the primary inside a transaction).
    """
    rows = export_reads(queryset).values_list(*PRODUCT_COLUMNS)
    for sku, name, description, unit, is_active, tracking in rows.iterator(chunk_size=2000):
        yield sku, name, description, unit, "true" if is_active else "false", tracking


def stock_export_rows(queryset) -> Iterator[tuple]:
    """`STOCK_EXPORT_COLUMNS` for each row of a `stock_levels_for` queryset, read in chunks.

    `reserved` and `incoming` are the stock row's columns where they exist (reservations, transfers in
    transit), else 0; `available` is `max(0, quantity − reserved − expired)` (SPEC §14: units of expired lots
    are not available; `expired` is one annotation, `inventory.lots.expired_expression`); `threshold` is empty
    when none is set. The columns stay those of §13, one line per stock row, lot-tracked or not. Read from the
    replica when one is set, as `product_export_rows`.
    """
    rows = export_reads(queryset).annotate(
        x_reserved=F("reserved") if _has_field("reserved") else Value(0),
        x_incoming=F("incoming") if _has_field("incoming") else Value(0),
        x_expired=expired_expression("pk"),
    ).values_list("warehouse__code", "product__sku", "product__name", "quantity", "x_reserved", "x_incoming",
                  "threshold", "x_expired")
    for code, sku, name, quantity, reserved, incoming, threshold, expired in rows.iterator(chunk_size=2000):
        yield (code, sku, name, quantity, reserved, max(0, quantity - reserved - expired), incoming,
               "" if threshold is None else threshold)


def stock_lot_export_rows(queryset) -> Iterator[tuple]:
    """`STOCK_LOT_EXPORT_COLUMNS` for each lot balance of a `lot_balances.stock_lots_for` queryset, in chunks
    (from the replica when one is set, as `product_export_rows`). `expires_on` is empty for a lot without a
    date: the stock import reads an empty cell as "not given", so the file re-imports with `mode=set`
    changing nothing."""
    rows = export_reads(queryset).values_list("stock__warehouse__code", "stock__product__sku", "lot__code",
                                              "lot__expires_on", "quantity")
    for code, sku, lot, expires_on, quantity in rows.iterator(chunk_size=2000):
        yield code, sku, lot, "" if expires_on is None else expires_on.isoformat(), quantity


__all__ = ["MAX_BYTES", "MAX_ROWS", "PRODUCT_COLUMNS", "STOCK_EXPORT_COLUMNS", "STOCK_LOT_EXPORT_COLUMNS",
           "InvalidFile", "RowError", "export_reads", "import_products", "import_stock", "product_export_rows",
           "stock_export_rows", "stock_lot_export_rows"]
