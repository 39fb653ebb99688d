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

import unicodedata
from collections.abc import Iterable, Iterator

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

from .. import policies
from ..errors import DuplicateSku, ImportBusy, InsufficientStock, InvalidImport
from ..models import MAX_QUANTITY, Product, Stock, StockMovement
from .csv_reading import MAX_BYTES, MAX_ROWS, InvalidFile, Row, RowError, read_rows
from .stock import MAX_BALANCE, Kind, StockChange, apply_stock_changes

PRODUCT_COLUMNS = ("sku", "name", "description", "unit", "is_active")
STOCK_EXPORT_COLUMNS = ("warehouse_code", "sku", "product", "quantity", "reserved", "available", "incoming",
                        "threshold")
MODES = ("assign", "set")
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

    Locks the actor's user row (FOR SHARE, `share_lock_actor`), then the existing products the file
    names (primary-key order; none on a dry run). Raises PermissionDenied unless the
    actor may edit products, InvalidFile listing every bad row, DuplicateSku if a concurrent import
    created one of the SKUs. Returns `{created, updated, unchanged, dry_run}`.
    """
    share_lock_actor(actor)  # first lock: a dismissal waits for this import, or this import sees it
    if not policies.can_import_products(actor):
        raise PermissionDenied("Only an admin or a manager may import products.")
    columns, rows = read_rows(binary, required=("sku", "name"), optional=("description", "unit", "is_active"))
    errors: list[RowError] = []
    parsed, first_row_of = [], {}
    for number, cells in rows:
        row = Row(number, cells, errors)
        values = {"sku": row.text("sku", required=True, limit=_PRODUCT_LIMITS["sku"]),
                  "name": row.text("name", required=True, limit=_PRODUCT_LIMITS["name"]),
                  "description": row.text("description", limit=_PRODUCT_LIMITS["description"]),
                  "unit": row.text("unit", limit=_PRODUCT_LIMITS["unit"]),
                  "is_active": row.boolean("is_active")}
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
            parsed.append(values)
    if errors:
        raise InvalidFile(errors)

    def work():
        keys = sorted({identity_key(values["sku"]) for values in parsed})
        # A dry run writes nothing, so it locks nothing: it reads the committed products.
        products = Product.objects.all() if dry_run else Product.objects.select_for_update()
        existing = {product.sku_key: product for start in range(0, len(keys), 1000)
                    for product in products.filter(sku_key__in=keys[start:start + 1000]).order_by("pk")}
        created, updated, unchanged = [], [], 0
        now = timezone.now()
        for values in parsed:
            product = existing.get(identity_key(values["sku"]))
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
                           "skus_updated": [p.sku for p in updated[:50]]})
        return summary

    return {**_in_savepoint(work, dry_run=dry_run), "dry_run": dry_run}


# --- stock -----------------------------------------------------------------------------------------


@transaction.atomic
def import_stock(*, actor, binary: Iterable[bytes], mode: str = "assign", dry_run: bool = False,
                 ip: str | None = None) -> dict:
    """Assign (`assign`: add the quantity) or set (`set`: make on-hand equal it) stock from a file.

    All rows or none; one ledger movement per changed row through the stock door (`assign`, or `adjust`
    with reason `count`), alerts as for any stock change. Locks: the actor's user row (FOR SHARE), then
    every stock row of the file, in primary-key order (none on a dry run). Raises PermissionDenied
    unless the actor is active and manages some warehouse, InvalidFile listing every bad row (unknown
    or foreign warehouses, unknown SKUs, bad quantities, repeated rows, inactive objects that would
    change, rows that would go below what is reserved). Returns `{changed, unchanged, dry_run}`.
    """
    if mode not in MODES:
        raise InvalidImport(f"mode must be one of {', '.join(MODES)}.")
    share_lock_actor(actor)  # first lock: a dismissal waits for this import, or this import sees it
    if not policies.may_import_stock_somewhere(actor):
        raise PermissionDenied("Only an admin or a warehouse's manager may import stock.")
    _, rows = read_rows(binary, required=("warehouse_code", "sku", "quantity"), optional=("note",))
    parsed, numbers, errors, changing = _validate_stock_rows(actor, rows, mode=mode)
    if errors:
        raise InvalidFile(errors)
    if dry_run:
        # Validated against the committed balances, without a lock (it writes nothing). A real run re-checks
        # under the row locks, so a row that changed meanwhile can still make it a bad row.
        return {"changed": changing, "unchanged": len(parsed) - changing, "dry_run": True}
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
    """Check every row against the committed balances (no locks); returns `([(warehouse, product, quantity,
    note)], [row number], [RowError], how many rows would change)`."""
    warehouses = {w.code.lower(): w for w in _by_lower(Warehouse.objects.all(), "code", _cells(rows, "warehouse_code"))}
    products = {p.sku.lower(): p for p in _by_lower(Product.objects.all(), "sku", _cells(rows, "sku"))}
    current = _current_balances(warehouses.values(), products.values())
    errors: list[RowError] = []
    parsed, numbers, first_row_of, changing = [], [], {}, 0
    maximum = MAX_QUANTITY if mode == "assign" else MAX_BALANCE
    for number, cells in rows:
        row = Row(number, cells, errors)
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
        if mode == "assign" and on_hand + quantity > MAX_BALANCE:
            row.fail("quantity", f"This would take the stock past {MAX_BALANCE} units.")
        if mode == "set" and quantity < reserved:
            row.fail("quantity", f"{reserved} units are reserved here; the quantity may not be below that.")
        if row.ok:
            parsed.append((warehouse, product, quantity, note))
            numbers.append(number)
            changing += changes
    return parsed, numbers, errors, changing


def _cells(rows, field: str) -> set[str]:
    """The distinct, lower-cased, non-blank values of one column to look up (a value holding NUL cannot name
    anything and PostgreSQL refuses it in a query: its row is reported by `Row.text`)."""
    return {unneutralise(cells[field].strip()).lower() for _, cells in rows
            if cells.get(field, "").strip() and "\x00" not in cells[field]}


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


def _has_field(name: str) -> bool:
    return any(field.name == name for field in Stock._meta.get_fields())


# --- exports ---------------------------------------------------------------------------------------


def export_reads(queryset):
    """`queryset` on the database an export reads: the replica when one is configured and no transaction is
    open on the primary (`core.db_router.replica_or_default`), else the primary. Asked when the stream starts."""
    return queryset.using(replica_or_default())


def product_export_rows(queryset) -> Iterator[tuple]:
    """The import's columns for each product of `queryset`, read in chunks (from the replica when one is set).

    Exports are reads that may lag (issue 15, 5b): streamed after the view returned, so the alias is chosen
    here, when the first row is read (`replica_or_default`: the primary inside a transaction).
    """
    rows = export_reads(queryset).values_list(*PRODUCT_COLUMNS)
    for sku, name, description, unit, is_active in rows.iterator(chunk_size=2000):
        yield sku, name, description, unit, "true" if is_active else "false"


def stock_export_rows(queryset) -> Iterator[tuple]:
    """`STOCK_EXPORT_COLUMNS` for each row of a `stock_levels_for` queryset, read in chunks.

    `reserved` and `incoming` are the stock row's columns where they exist (reservations, transfers in
    transit), else 0; `available` is `quantity − reserved`; `threshold` is empty when none is set.
    Read from the replica when one is set, as `product_export_rows`.
    """
    rows = export_reads(queryset).annotate(
        x_reserved=F("reserved") if _has_field("reserved") else Value(0),
        x_incoming=F("incoming") if _has_field("incoming") else Value(0),
    ).values_list("warehouse__code", "product__sku", "product__name", "quantity", "x_reserved", "x_incoming",
                  "threshold")
    for code, sku, name, quantity, reserved, incoming, threshold in rows.iterator(chunk_size=2000):
        yield code, sku, name, quantity, reserved, quantity - reserved, incoming, "" if threshold is None else threshold


__all__ = ["MAX_BYTES", "MAX_ROWS", "PRODUCT_COLUMNS", "STOCK_EXPORT_COLUMNS", "InvalidFile", "RowError",
           "export_reads", "import_products", "import_stock", "product_export_rows", "stock_export_rows"]
