"""The stock door for transfers: moves of many lines at once, and transfers that travel (SPEC §11).

Part of the one door for stock (`inventory.services.stock` holds the primitives it builds on:
`write_change`, `hold`, `unhold`, `lock_rows_expiring_holds`): the only writer of `Stock.incoming`,
and, with `stock`, of `quantity` and `reserved`. A line is `(product, units)`. The workflow service
holds the transfer's row lock; these functions lock every stock row an operation touches in ONE
`lock_rows_expiring_holds` call
(primary-key order across all lines), check every line before writing any, and raise the first
shortfall as one InsufficientStock naming its `product`, so two transfers listing the same products
in opposite orders cannot deadlock.

Lots (SPEC §14): the products' `tracking` is read once, under the locks (`note_tracking`). Units of a
lot-tracked product leave the source first-expired-first-out from lots that are not expired
(`take_units`: one `transfer_out` movement per lot, in the order taken, each naming its lot) and arrive
in the same lots (`transfer_in` movements naming them). The workflow records which lots travelled on
each line from the returned movements; a receipt tells the door how many accepted units arrive in each
lot (`ReceivedLine.lots`). Rejected or lost units leave `incoming` only and write no ledger row.
"""

from typing import NamedTuple

from django.db import transaction

from warehouses.models import Warehouse

from .. import locks
from ..errors import InsufficientStock, SameWarehouse
from ..models import Lot, Product, Stock, StockMovement
from . import lots as lot_door
from .stock import (
    Kind,
    Reference,
    check_active,
    check_quantity,
    hold,
    lock_rows_expiring_holds,
    require_available,
    require_stock_change,
    save_buckets,
    stock_operation,
    take_units,
    unhold,
    write_change,
)


@transaction.atomic
def move_stock(*, actor, source: Warehouse, destination: Warehouse, product: Product, quantity: int,
               reference: Reference, note: str = "") -> tuple[StockMovement, StockMovement]:
    """Move `quantity` from `source` to `destination`: a `transfer_out` and a `transfer_in` row.

    One line of `move_stock_lines` (same locks and errors). Returns the first `transfer_out` and the last
    `transfer_in` movement (the only two unless a lot-tracked product's units came from several lots).
    """
    movements = move_stock_lines(actor=actor, source=source, destination=destination,
                                 lines=[(product, quantity)], reference=reference, note=note)
    return movements[0], movements[-1]


Line = tuple[Product, int]


def _check_lines(lines: list[Line]) -> None:
    products = [product.pk for product, _ in lines]
    if not products or len(set(products)) != len(products):
        raise ValueError("lines must name each product once, and at least one")
    for _, quantity in lines:
        check_quantity(quantity)


def _shortfall(rows: dict[tuple[int, int], Stock], warehouse: Warehouse, lines: list[Line], *,
               release: bool = False) -> None:
    """Raise InsufficientStock (naming `product`) for the first line the locked rows cannot give.

    `release`: each line takes units its own hold (approval) reserved, so it may use `takeable(release=units)`
    (SPEC §14's `min(quantity − expired, available + held)`), which is the `available` of the error.
    """
    for product, quantity in sorted(lines, key=lambda line: line[0].pk):
        stock = rows.get((product.pk, warehouse.pk))
        try:
            if stock is None:
                raise InsufficientStock(available=0, requested=quantity)
            require_available(stock, requested=quantity, release=quantity if release else 0)
        except InsufficientStock as short:
            raise InsufficientStock(
                available=short.extra["available"], requested=quantity, product=product.pk,
                detail=f"Not enough {product.sku} at {warehouse.code}: {short.extra['available']} available, "
                       f"{quantity} requested.") from None


def _lock_existing(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Stock]:
    """Lock the rows of `pairs` that exist (a missing source row simply has nothing available)."""
    existing = set(Stock.objects.filter(product_id__in={p for p, _ in pairs}, warehouse_id__in={w for _, w in pairs})
                   .values_list("product_id", "warehouse_id"))
    return lock_rows_expiring_holds([pair for pair in pairs if pair in existing])


def _shift_incoming(stock: Stock, delta: int) -> None:
    """Raise or lower a locked row's `incoming` (units on their way to it). Never below zero."""
    if stock.incoming + delta < 0:
        raise ValueError(f"cannot take {-delta} of {stock.incoming} incoming units")
    with stock_operation() as operation:
        operation.touch(stock)
        stock.incoming += delta
        save_buckets(stock, "incoming")


@transaction.atomic
@stock_operation()
def move_stock_lines(*, actor, source: Warehouse, destination: Warehouse, lines: list[Line],
                     reference: Reference, note: str = "") -> list[StockMovement]:
    """Move every line from `source` to `destination` at once: a `transfer_out` and a `transfer_in` per line.

    All lines or none. Locks: the source and destination rows of every product, in one primary-key
    ordered call (missing destination rows are created first). Returns the movements, per line in
    product order: its `transfer_out` movements (one per lot taken FEFO for a lot-tracked product), then
    its `transfer_in` movements (the same lots, in the same order). Raises PermissionDenied unless the
    actor operates both warehouses; InsufficientStock naming the first short `product` (with
    `available`, `requested`) before writing anything; InactiveObject, InvalidQuantity, DomainError
    `same_warehouse`.
    """
    _check_lines(lines)
    if source.pk == destination.pk:
        raise SameWarehouse()
    require_stock_change(actor, source, destination)
    for product, _ in lines:
        check_active(warehouses=[source, destination], product=product)
    src_keys = [(product.pk, source.pk) for product, _ in lines]
    dst_keys = [(product.pk, destination.pk) for product, _ in lines]
    if Stock.objects.filter(product_id__in=[p for p, _ in src_keys], warehouse=source).count() < len(lines):
        rows = _lock_existing(src_keys)  # some source row is missing: find the shortfall, write nothing
        _shortfall(rows, source, lines)
    locks.ensure_stock_rows(dst_keys)
    rows = lock_rows_expiring_holds([*src_keys, *dst_keys])
    lot_door.note_tracking(rows.values())  # every row's `tracking`, in one read under the locks
    _shortfall(rows, source, lines)
    movements = []
    for product, quantity in sorted(lines, key=lambda line: line[0].pk):
        taken = take_units(rows[(product.pk, source.pk)], quantity=quantity, kind=Kind.TRANSFER_OUT, actor=actor,
                           reference=reference, note=note)
        movements.extend(taken)
        destination_row = rows[(product.pk, destination.pk)]
        for out in taken:  # the same lots arrive (none for a product that is not lot-tracked)
            movements.append(write_change(destination_row, change=-out.quantity_change, kind=Kind.TRANSFER_IN,
                                          actor=actor, reference=reference, note=note, lot=out.lot))
    return movements


@transaction.atomic
@stock_operation()
def hold_transfer_lines(*, actor, source: Warehouse, lines: list[Line]) -> None:
    """Reserve every line at `source` for an approved in-transit transfer (`reserved` grows); all or none.

    The transfer's lines are the hold: no `Reservation` row is written. Locks: the source rows of
    every product, in primary-key order (their due reservations expire first). Raises
    PermissionDenied unless the actor operates the source; InsufficientStock naming the first short
    `product` before writing anything; InactiveObject, InvalidQuantity.
    """
    _check_lines(lines)
    require_stock_change(actor, source)
    for product, _ in lines:
        check_active(warehouses=[source], product=product)
    rows = _lock_existing([(product.pk, source.pk) for product, _ in lines])
    lot_door.note_tracking(rows.values())  # expired units are not available: every row's `tracking`, one read
    _shortfall(rows, source, lines)
    for product, quantity in lines:
        hold(rows[(product.pk, source.pk)], quantity=quantity)


@transaction.atomic
@stock_operation()
def release_transfer_lines(*, actor, source: Warehouse, lines: list[Line]) -> None:
    """Give back the units an approved, unshipped in-transit transfer holds at `source` (`reserved` shrinks).

    Locks: the source rows, in primary-key order. Raises PermissionDenied unless the actor operates
    the source.
    """
    _check_lines(lines)
    require_stock_change(actor, source)
    rows = lock_rows_expiring_holds([(product.pk, source.pk) for product, _ in lines])
    for product, quantity in lines:
        unhold(rows[(product.pk, source.pk)], quantity=quantity)


@transaction.atomic
@stock_operation()
def ship_transfer_lines(*, actor, source: Warehouse, destination: Warehouse, lines: list[Line],
                        reference: Reference, note: str = "") -> list[StockMovement]:
    """Ship every line in full: the units leave `source` and are on their way to `destination`.

    Per line, the source's `quantity` and `reserved` shrink by the units the transfer held (one
    `transfer_out` movement; for a lot-tracked product one per lot, taken FEFO from lots that are not
    expired) and the destination's `incoming` grows. Products or warehouses made inactive since
    approval still ship: the units are already promised. Locks: the source and destination rows of
    every product, in one primary-key ordered call (missing destination rows are created first).
    Returns the `transfer_out` movements, per line in product order. Raises PermissionDenied unless
    the actor operates the source; InsufficientStock naming the first short `product`, with
    `available` = `min(quantity − expired, available + held)` (SPEC §14: units expired since approval
    are not shipped), before writing anything.
    """
    _check_lines(lines)
    require_stock_change(actor, source)
    src_keys = [(product.pk, source.pk) for product, _ in lines]
    dst_keys = [(product.pk, destination.pk) for product, _ in lines]
    locks.ensure_stock_rows(dst_keys)
    rows = lock_rows_expiring_holds([*src_keys, *dst_keys])
    lot_door.note_tracking(rows.values())
    _shortfall(rows, source, lines, release=True)
    movements = []
    for product, quantity in sorted(lines, key=lambda line: line[0].pk):
        movements.extend(take_units(rows[(product.pk, source.pk)], quantity=quantity, kind=Kind.TRANSFER_OUT,
                                    actor=actor, reference=reference, note=note, release=quantity))
        _shift_incoming(rows[(product.pk, destination.pk)], quantity)
    return movements


class ReceivedLine(NamedTuple):
    """Units of one product arriving at the destination: `accepted` enter its stock, `rejected` (damaged)
    only leave `incoming`. `lots`: for a lot-tracked product, `(lot, units)` of the accepted units per lot
    (summing to `accepted`; the lots they were shipped as)."""

    product: Product
    accepted: int
    rejected: int
    lots: tuple[tuple[Lot, int], ...] = ()


@transaction.atomic
@stock_operation()
def receive_transfer_lines(*, actor, destination: Warehouse, lines: list[ReceivedLine | tuple],
                           reference: Reference, note: str = "") -> list[StockMovement]:
    """Receive `ReceivedLine(product, accepted, rejected, lots)` units at `destination`: all leave `incoming`.

    Accepted units enter the stock (one `transfer_in` movement per line with any; for a lot-tracked
    product one per lot of `lots`, naming it); rejected units (damaged or lost in transit) enter no
    stock and write no ledger row. Locks: the destination rows, in primary-key order. Raises
    PermissionDenied unless the actor operates the destination; LotRequired / NotLotTracked if `lots`
    does not fit the product's `tracking` (read under the locks).
    """
    require_stock_change(actor, destination)
    lines = [ReceivedLine(*line) for line in lines]
    rows = lock_rows_expiring_holds([(line.product.pk, destination.pk) for line in lines])
    lot_door.note_tracking(rows.values())
    movements = []
    for line in sorted(lines, key=lambda line: line.product.pk):
        stock = rows[(line.product.pk, destination.pk)]
        if line.lots and sum(units for _, units in line.lots) != line.accepted:
            raise ValueError(f"the lots of {line.product.sku} hold {line.lots}, not {line.accepted} units")
        _shift_incoming(stock, -(line.accepted + line.rejected))
        parts = line.lots or ((None, line.accepted),)
        for lot, units in parts:
            if units:
                movements.append(write_change(stock, change=units, kind=Kind.TRANSFER_IN, actor=actor,
                                              reference=reference, note=note, lot=lot))
    return movements


@transaction.atomic
@stock_operation()
def write_off_in_transit(*, actor, destination: Warehouse, lines: list[Line]) -> None:
    """Write units that will never arrive off `destination`'s `incoming` (lost in transit; no ledger row).

    Locks: the destination rows, in primary-key order. Raises PermissionDenied unless the actor
    operates the destination.
    """
    require_stock_change(actor, destination)
    rows = lock_rows_expiring_holds([(product.pk, destination.pk) for product, _ in lines])
    for product, units in lines:
        _shift_incoming(rows[(product.pk, destination.pk)], -units)
