"""The one door for stock: the only code that changes `Stock.quantity`.

Every function here runs in one transaction, locks the stock rows it touches through
`inventory.locks` (primary-key order), checks everything before it writes, and writes each new
balance together with its ledger row (`StockMovement`, with `quantity_after`). Low-stock alerts are
evaluated in the same transaction, after the write.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import DomainError, InsufficientStock, NotFound, PermissionDenied
from warehouses.models import Warehouse

from . import alerts, locks
from .models import MAX_QUANTITY, LowStockThreshold, Product, Stock, StockMovement

# No balance may grow beyond this (far below the 64-bit limit of the column).
MAX_BALANCE = 10**15

Kind = StockMovement.Kind


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_detail = "The quantity is not valid."


class InactiveObject(DomainError):
    code = "inactive"
    default_detail = "The warehouse or product is inactive."


@dataclass(frozen=True)
class Reference:
    """What caused a movement (a purchase or transfer request)."""

    type: str
    id: int


def check_quantity(quantity: int, *, allow_negative: bool = False) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity("The quantity must be an integer.")
    if quantity == 0 or (quantity < 0 and not allow_negative):
        raise InvalidQuantity("The quantity must be a positive integer." if not allow_negative
                              else "The change must not be zero.")
    if abs(quantity) > MAX_QUANTITY:
        raise InvalidQuantity(f"The quantity must be at most {MAX_QUANTITY}.")


def check_active(*, warehouses: list[Warehouse], product: Product) -> None:
    for warehouse in warehouses:
        if not warehouse.is_active:
            raise InactiveObject(f"Warehouse {warehouse.code} is inactive.")
    if not product.is_active:
        raise InactiveObject(f"Product {product.sku} is inactive.")


def _apply(stock: Stock, *, change: int, kind: str, actor, reason: str = "", note: str = "",
           reference: Reference | None = None) -> StockMovement:
    """Write one locked row's new balance and its ledger row. The caller holds the row lock."""
    previous = stock.quantity
    new_quantity = previous + change
    if new_quantity < 0:
        raise InsufficientStock(available=previous, requested=-change)
    if new_quantity > MAX_BALANCE:
        raise InvalidQuantity(f"The resulting quantity would exceed {MAX_BALANCE}.")
    stock.quantity = new_quantity
    stock.save(update_fields=["quantity", "updated_at"])
    movement = StockMovement.objects.create(
        stock=stock,
        warehouse_id=stock.warehouse_id,
        product_id=stock.product_id,
        kind=kind,
        quantity_change=change,
        quantity_after=new_quantity,
        actor=actor,
        reference_type=reference.type if reference else None,
        reference_id=reference.id if reference else None,
        reason=reason,
        note=note or "",
    )
    alerts.stock_level_changed(stock=stock, previous_quantity=previous)
    return movement


def _require(queryset, warehouse: Warehouse, message: str) -> None:
    if not queryset.filter(pk=warehouse.pk).exists():
        raise PermissionDenied(message)


@transaction.atomic
def assign_stock(*, actor, warehouse: Warehouse, product: Product, quantity: int, note: str = "",
                 ip: str | None = None) -> Stock:
    """Add `quantity` units (an `assign` movement), creating the stock row if needed.

    Locks: the stock row (created first if missing). Raises PermissionDenied unless the actor
    manages the warehouse, InactiveObject, InvalidQuantity.
    """
    check_quantity(quantity)
    _require(Warehouse.objects.managed_by(actor), warehouse, "Only an admin or this warehouse's manager "
                                                             "may assign stock here.")
    check_active(warehouses=[warehouse], product=product)
    stock = locks.lock_stock_row(product.pk, warehouse.pk, create=True)
    movement = _apply(stock, change=quantity, kind=Kind.ASSIGN, actor=actor, note=note)
    record_event(actor=actor, action="stock.assign", target=stock, ip=ip,
                 data={"movement": movement.pk, "quantity": quantity, "quantity_after": stock.quantity})
    return stock


@transaction.atomic
def adjust_stock(*, actor, warehouse: Warehouse, product: Product, delta: int, reason: str,
                 note: str = "", ip: str | None = None) -> Stock:
    """Change a balance by `delta` (an `adjust` movement: count, damage, loss, found, return, receipt).

    Locks: the stock row (created first if missing, for a positive delta). Raises
    PermissionDenied unless the actor operates the warehouse, InsufficientStock if the result
    would be below zero (nothing written), InactiveObject, InvalidQuantity.
    """
    check_quantity(delta, allow_negative=True)
    if reason not in StockMovement.Reason.values:
        raise DomainError(f"Unknown reason {reason!r}.", code="invalid_reason")
    _require(Warehouse.objects.operated_by(actor), warehouse, "Only an admin or this warehouse's manager or "
                                                              "staff may adjust stock here.")
    check_active(warehouses=[warehouse], product=product)
    if delta < 0 and not Stock.objects.filter(product=product, warehouse=warehouse).exists():
        raise InsufficientStock(available=0, requested=-delta)
    stock = locks.lock_stock_row(product.pk, warehouse.pk, create=True)
    movement = _apply(stock, change=delta, kind=Kind.ADJUST, actor=actor, reason=reason, note=note)
    record_event(actor=actor, action="stock.adjust", target=stock, ip=ip,
                 data={"movement": movement.pk, "delta": delta, "reason": reason, "quantity_after": stock.quantity})
    return stock


@transaction.atomic
def deduct_stock(*, actor, warehouse: Warehouse, product: Product, quantity: int,
                 reference: Reference, kind: str = Kind.PURCHASE, note: str = "") -> StockMovement:
    """Take `quantity` out of a warehouse for a request (a `purchase` movement by default).

    The caller (a workflow service) has checked the actor's right to decide. Locks: the stock
    row. Raises InsufficientStock before writing anything if not enough is on hand.
    """
    check_quantity(quantity)
    check_active(warehouses=[warehouse], product=product)
    if not Stock.objects.filter(product=product, warehouse=warehouse).exists():
        raise InsufficientStock(available=0, requested=quantity)
    stock = locks.lock_stock_row(product.pk, warehouse.pk)
    return _apply(stock, change=-quantity, kind=kind, actor=actor, reference=reference, note=note)


@transaction.atomic
def move_stock(*, actor, source: Warehouse, destination: Warehouse, product: Product, quantity: int,
               reference: Reference, note: str = "") -> tuple[StockMovement, StockMovement]:
    """Move `quantity` from `source` to `destination`: a `transfer_out` and a `transfer_in` row.

    All or nothing. Locks: both stock rows, in primary-key order (the destination row is created
    first if missing). Raises InsufficientStock before writing if the source lacks the quantity.
    """
    check_quantity(quantity)
    if source.pk == destination.pk:
        raise DomainError("Source and destination must differ.", code="same_warehouse")
    check_active(warehouses=[source, destination], product=product)
    if not Stock.objects.filter(product=product, warehouse=source).exists():
        raise InsufficientStock(available=0, requested=quantity)
    src_key, dst_key = (product.pk, source.pk), (product.pk, destination.pk)
    locks.ensure_stock_rows([dst_key])
    rows = locks.lock_stock_rows([src_key, dst_key])
    out_row = _apply(rows[src_key], change=-quantity, kind=Kind.TRANSFER_OUT, actor=actor,
                     reference=reference, note=note)
    in_row = _apply(rows[dst_key], change=quantity, kind=Kind.TRANSFER_IN, actor=actor,
                    reference=reference, note=note)
    return out_row, in_row


# --- Catalogue ------------------------------------------------------------------------------------

PRODUCT_FIELDS = ("sku", "name", "description", "unit", "is_active")


class DuplicateSku(DomainError):
    code = "duplicate_sku"
    default_detail = "A product with this SKU already exists (SKUs are case-insensitive)."


def _product_snapshot(product: Product) -> dict:
    return {field: getattr(product, field) for field in PRODUCT_FIELDS if field != "description"}


def _save_product(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # a concurrent create won the unique SKU
        raise DuplicateSku() from exc


@transaction.atomic
def create_product(*, actor, sku: str, name: str, description: str = "", unit: str = "pcs",
                   is_active: bool = True, ip: str | None = None) -> Product:
    """Add a product to the catalogue. Raises DuplicateSku (also under a concurrent create)."""
    product = Product(sku=sku, name=name, description=description, unit=unit, is_active=is_active)
    _save_product(product)
    record_event(actor=actor, action="product.create", target=product, ip=ip, data=_product_snapshot(product))
    return product


@transaction.atomic
def update_product(*, actor, product: Product, ip: str | None = None, **changes) -> Product:
    """Change some of sku, name, description, unit, is_active. Locks: the product row. Raises DuplicateSku."""
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"unknown product fields: {sorted(unknown)}")
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = _product_snapshot(product)
    for field, value in changes.items():
        setattr(product, field, value)
    _save_product(product)
    record_event(actor=actor, action="product.update", target=product, ip=ip,
                 data={"before": before, "after": _product_snapshot(product), "fields": sorted(changes)})
    return product


# --- Low-stock thresholds -------------------------------------------------------------------------


class DuplicateThreshold(DomainError):
    code = "duplicate_threshold"
    default_detail = "This product already has a threshold in this warehouse."


def _check_threshold(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_QUANTITY:
        raise InvalidQuantity(f"The threshold must be an integer from 0 to {MAX_QUANTITY}.")


def _require_manager(actor, warehouse_id: int) -> None:
    if not Warehouse.objects.managed_by(actor).filter(pk=warehouse_id).exists():
        raise PermissionDenied("Only an admin or this warehouse's manager may change its thresholds.")


def _lock_threshold(pk: int) -> LowStockThreshold:
    row = LowStockThreshold.objects.select_for_update().filter(pk=pk).first()
    if row is None:  # deleted by a concurrent request
        raise NotFound("This threshold no longer exists.")
    return row


def _reevaluate(stock: Stock | None, *, product_id: int, warehouse_id: int, threshold: int | None) -> None:
    alerts.evaluate(product_id=product_id, warehouse_id=warehouse_id,
                    quantity=stock.quantity if stock is not None else 0, threshold=threshold)


@transaction.atomic
def set_threshold(*, actor, warehouse: Warehouse, product: Product, threshold: int,
                  ip: str | None = None) -> LowStockThreshold:
    """Create the low-stock threshold of a product in a warehouse; opens an alert if already below it.

    Locks: the stock row, created (at 0) if missing, so this serializes with stock changes: without
    a row to lock, a concurrent first assignment could commit 10 units while this opens an alert
    for 0. Raises PermissionDenied unless the actor manages the warehouse, InvalidQuantity,
    DuplicateThreshold.
    """
    _check_threshold(threshold)
    _require_manager(actor, warehouse.pk)
    stock = locks.lock_stock_row(product.pk, warehouse.pk, create=True)
    try:
        with transaction.atomic():
            row = LowStockThreshold.objects.create(product=product, warehouse=warehouse, threshold=threshold)
    except IntegrityError as exc:
        raise DuplicateThreshold() from exc
    _reevaluate(stock, product_id=product.pk, warehouse_id=warehouse.pk, threshold=threshold)
    record_event(actor=actor, action="threshold.create", target=row, ip=ip,
                 data={"product": product.pk, "warehouse": warehouse.pk, "threshold": threshold})
    return row


@transaction.atomic
def update_threshold(*, actor, row: LowStockThreshold, threshold: int, ip: str | None = None) -> LowStockThreshold:
    """Change a threshold's value; opens or resolves the alert to match.

    Locks: the stock row (created at 0 if missing, see `set_threshold`), then the threshold row.
    Raises PermissionDenied, InvalidQuantity.
    """
    _check_threshold(threshold)
    _require_manager(actor, row.warehouse_id)
    stock = locks.lock_stock_row(row.product_id, row.warehouse_id, create=True)
    row = _lock_threshold(row.pk)
    before = row.threshold
    row.threshold = threshold
    row.save(update_fields=["threshold", "updated_at"])
    _reevaluate(stock, product_id=row.product_id, warehouse_id=row.warehouse_id, threshold=threshold)
    record_event(actor=actor, action="threshold.update", target=row, ip=ip,
                 data={"product": row.product_id, "warehouse": row.warehouse_id, "before": before,
                       "threshold": threshold})
    return row


@transaction.atomic
def delete_threshold(*, actor, row: LowStockThreshold, ip: str | None = None) -> None:
    """Remove a threshold; an open alert for it resolves.

    Locks: the stock row if it exists, then the threshold row. Raises PermissionDenied.
    """
    _require_manager(actor, row.warehouse_id)
    stock = locks.lock_existing_stock_row(row.product_id, row.warehouse_id)
    row = _lock_threshold(row.pk)
    data = {"id": row.pk, "product": row.product_id, "warehouse": row.warehouse_id, "threshold": row.threshold}
    row.delete()
    _reevaluate(stock, product_id=data["product"], warehouse_id=data["warehouse"], threshold=None)
    record_event(actor=actor, action="threshold.delete", target=f"lowstockthreshold:{data['id']}", ip=ip, data=data)
