"""The one door for stock: the only writer of `Stock.quantity`.

Nothing else writes a quantity: not views, serializers, signals, `save()` or the admin. Every
function here runs in one transaction, checks the actor against `inventory.policies.can_change_stock`
(the actor operates every warehouse whose quantity it changes; assigning asks the stricter
`can_assign_stock`), locks the stock rows it touches through `inventory.locks` (primary-key order),
checks everything before it writes, and writes each new balance together with its ledger row
(`StockMovement`, with `quantity_after`) and its day's roll-up (`inventory.rollups`). Every save of a
row's `quantity`, `reserved` or `incoming` raises its `version` by 1, under the lock.

Each operation runs inside `stock_operation()` (nested ones join the outermost): it notes every row it
touches, with its numbers before, and the movements written on it; at its end, still inside the
transaction, the outermost announces ONE `inventory.events.StockChanged` through the event seam
(`core.events`) listing each changed row once. What reacts (low-stock alerts, replenishment, webhooks)
subscribes from above and runs in the same transaction, under the row locks. The door imports nothing
that reacts to it.

It is also the only writer of `Stock.reserved`, and it owns the availability rule
(`require_available`): after any operation `quantity >= reserved`, so an operation that takes units
needs at most `available` (plus the units it releases of its own reservation). Whenever it locks
stock rows it first expires their due reservations (`lock_rows_expiring_holds`), so an expired hold
never blocks a sale even when the worker is down.

`inventory.services.transfers` builds the multi-line moves and the in-transit operations (ship,
receive, write-off) on these primitives (`write_change`, `require_stock_change`, `hold`, `unhold`);
together they are the door.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from core.errors import PermissionDenied
from core.events import emit
from warehouses.models import Warehouse

from .. import locks, policies, rollups
from ..errors import (
    InactiveObject,
    InsufficientStock,
    InvalidQuantity,
    InvalidReason,
    LotRequired,
    NotLotTracked,
    StaleQuantity,
)
from ..events import ReservationChanged, RowChange, StockChanged
from ..models import MAX_QUANTITY, Lot, Product, Reservation, Stock, StockMovement
from . import lots as lot_door

# No balance may grow beyond this (far below the 64-bit limit of the column).
MAX_BALANCE = 10**15

Kind = StockMovement.Kind


@dataclass(frozen=True)
class Reference:
    """What caused a movement (a purchase or transfer request)."""

    type: str
    id: int


class Operation:
    """The rows one door operation touched: per row, the locked object, its numbers before, its movements."""

    def __init__(self):
        self._rows: dict[int, tuple[Stock, int, int, int, list[StockMovement]]] = {}
        self.versioned: set[int] = set()

    def touch(self, stock: Stock) -> None:
        """Note a locked row before the operation changes its numbers (the first call keeps the "before")."""
        entry = self._rows.get(stock.pk)
        if entry is None:
            self._rows[stock.pk] = (stock, stock.quantity, stock.reserved, stock.incoming, [])
        elif entry[0] is not stock:
            self._rows[stock.pk] = (stock, *entry[1:])

    def wrote(self, stock: Stock, movement: StockMovement) -> None:
        self._rows[stock.pk][4].append(movement)

    def changes(self) -> tuple[RowChange, ...]:
        return tuple(
            RowChange(stock=stock, quantity_before=quantity, reserved_before=reserved, incoming_before=incoming,
                      movements=tuple(movements))
            for stock, quantity, reserved, incoming, movements in self._rows.values()
            if movements or (stock.quantity, stock.reserved, stock.incoming) != (quantity, reserved, incoming)
        )


_current: ContextVar[Operation | None] = ContextVar("stock_operation", default=None)


@contextmanager
def stock_operation() -> Iterator[Operation]:
    """Open (or join) the current door operation; the outermost one announces `StockChanged` at its end.

    Use inside the operation's transaction. On an exception nothing is announced (the transaction rolls
    back). A workflow action that calls several door functions may wrap them in one operation, so its
    subscribers see each row once.
    """
    current = _current.get()
    if current is not None:
        yield current
        return
    operation = Operation()
    token = _current.set(operation)
    try:
        yield operation
    finally:
        _current.reset(token)
    changes = operation.changes()
    if changes:
        emit(StockChanged(rows=changes))


def save_buckets(stock: Stock, *fields: str) -> None:
    """Save a locked row's changed buckets (`quantity`, `reserved`, `incoming`), raising its `version` by 1
    once per operation (an operation that writes a row several times, one movement per lot, is one change)."""
    operation = _current.get()
    if operation is None or stock.pk not in operation.versioned:
        stock.version += 1
        if operation is not None:
            operation.versioned.add(stock.pk)
    stock.save(update_fields=[*fields, "version", "updated_at"])


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


def takeable(stock: Stock, *, release: int = 0) -> int:
    """What an operation may take from (or promise of) a locked row: `available` = max(0, quantity − reserved
    − expired), plus `release`, the units its own hold gives back, but never more than the units that are
    not expired (SPEC §14: holds beyond those are served first come, first served)."""
    expired = lot_door.expired_on_hand(stock)
    return min(stock.quantity - expired, max(0, stock.quantity - stock.reserved - expired) + release)


def require_available(stock: Stock, *, requested: int, release: int = 0) -> None:
    """The availability rule: taking (or promising) `requested` units may use only what is not reserved
    and not expired (`takeable`).

    `release` is the number of units of the operation's own reservation it gives back in the same
    write (a fulfilment takes units it reserved itself). Keeps `quantity >= reserved` after the
    operation. Raises InsufficientStock with `available` and `requested`; the caller writes nothing.
    """
    available = takeable(stock, release=release)
    if requested > available:
        raise InsufficientStock(available=max(available, 0), requested=requested)


def write_change(stock: Stock, *, change: int, kind: str, actor, reason: str = "", note: str = "",
                 reference: Reference | None = None, release: int = 0, lot: Lot | None = None,
                 checked: bool = False) -> StockMovement:
    """Write one locked row's new balance, its ledger row and its day's roll-up. The caller holds the row lock.

    `release` units of `reserved` are given back in the same UPDATE (a fulfilment's own hold). `lot`: the
    lot the units come into or leave (required for a lot-tracked product: one movement names one lot;
    `take_units` plans the lots of a take). `checked`: the caller has applied the availability rule
    (a take planned over several lots). Part of the current door operation (`stock_operation`), which
    announces the row when it ends.
    """
    if not 0 <= release <= stock.reserved:
        raise ValueError(f"cannot release {release} of {stock.reserved} reserved units")
    if (lot is None) == lot_door.row_is_lot_tracked(stock):
        raise LotRequired("This product is lot-tracked: name the lot.") if lot is None else \
            NotLotTracked("This product is not lot-tracked: it has no lots.")
    if change < 0 and not checked:
        require_available(stock, requested=-change, release=release)
    new_quantity = stock.quantity + change
    if new_quantity > MAX_BALANCE:
        raise InvalidQuantity(f"The resulting quantity would exceed {MAX_BALANCE}.")
    with stock_operation() as operation:
        operation.touch(stock)
        if lot is not None:
            lot_door.LotBook.of(stock).add(lot, change)
        stock.quantity = new_quantity
        stock.reserved -= release
        save_buckets(stock, "quantity", "reserved")
        movement = _record_movement(stock, change=change, kind=kind, actor=actor, reason=reason, note=note,
                                    reference=reference, lot=lot)
        operation.wrote(stock, movement)
    return movement


def take_units(stock: Stock, *, quantity: int, kind: str, actor, reason: str = "", note: str = "",
               reference: Reference | None = None, release: int = 0, lot: Lot | None = None) -> list[StockMovement]:
    """Take `quantity` units out of a locked row: one movement, or for a lot-tracked product one per lot.

    Without `lot`, a lot-tracked row's units are taken first-expired-first-out from lots that are not
    expired (`LotBook.plan_fefo`), as many lots as needed, in the order taken; the whole take needs at
    most `takeable` (with `release`, the units of the operation's own hold it gives back, released with
    the first movement). With `lot`, that lot alone (`check_named_take`: an expired lot only within
    `quantity − reserved`). Raises InsufficientStock before writing anything.
    """
    if lot is None and not lot_door.row_is_lot_tracked(stock):
        return [write_change(stock, change=-quantity, kind=kind, actor=actor, reason=reason, note=note,
                             reference=reference, release=release)]
    book = lot_door.LotBook.of(stock)
    if lot is not None:
        lot_door.check_named_take(stock, book, lot, quantity, release=release)
        plan = [(lot, quantity)]
    else:
        require_available(stock, requested=quantity, release=release)
        plan = book.plan_fefo(quantity)
    movements = []
    for index, (taken_lot, units) in enumerate(plan):
        movements.append(write_change(stock, change=-units, kind=kind, actor=actor, reason=reason, note=note,
                                      reference=reference, release=release if index == 0 else 0, lot=taken_lot,
                                      checked=True))
    return movements


def _record_movement(stock: Stock, *, change: int, kind: str, actor, reason: str, note: str,
                     reference: Reference | None, lot: Lot | None = None) -> StockMovement:
    movement = StockMovement.objects.create(
        stock=stock,
        warehouse_id=stock.warehouse_id,
        product_id=stock.product_id,
        lot=lot,
        kind=kind,
        quantity_change=change,
        quantity_after=stock.quantity,
        actor=actor,
        reference_type=reference.type if reference else None,
        reference_id=reference.id if reference else None,
        reason=reason,
        note=note or "",
    )
    rollups.record(movement)
    return movement


def hold(stock: Stock, *, quantity: int) -> None:
    """Promise `quantity` units of a locked row (`reserved` grows). Raises InsufficientStock, nothing written."""
    require_available(stock, requested=quantity)
    with stock_operation() as operation:
        operation.touch(stock)
        stock.reserved += quantity
        save_buckets(stock, "reserved")


def unhold(stock: Stock, *, quantity: int) -> None:
    """Give back `quantity` promised units of a locked row (`reserved` shrinks)."""
    if not 0 < quantity <= stock.reserved:
        raise ValueError(f"cannot release {quantity} of {stock.reserved} reserved units")
    with stock_operation() as operation:
        operation.touch(stock)
        stock.reserved -= quantity
        save_buckets(stock, "reserved")


def take_reserved(stock: Stock, *, taken: int, release: int, actor, reference: Reference,
                  note: str = "") -> list[StockMovement]:
    """Take `taken` units that a reservation of `release` units held (`fulfil` movements); the rest is freed.

    A lot-tracked row's units are taken FEFO from lots that are not expired (one movement per lot, in the
    order taken), within `takeable(release=...)`: `min(quantity − expired, available + held)` (SPEC §14).
    Raises InsufficientStock (with that limit as `available`) before writing anything.
    """
    return take_units(stock, quantity=taken, kind=Kind.FULFIL, actor=actor, reference=reference,
                      release=release, note=note)


def expire_reservation(reservation: Reservation, stock: Stock, *, now: datetime) -> None:
    """Close one due reservation as `expired` and give its units back. Both rows are locked by the caller."""
    with stock_operation():
        unhold(stock, quantity=reservation.quantity)
        reservation.status = Reservation.Status.EXPIRED
        reservation.closed_at = now
        reservation.save(update_fields=["status", "closed_at"])
        record_event(actor=None, action="reservation.expire", target=reservation,
                     data={"stock": stock.pk, "quantity": reservation.quantity,
                           "expires_at": reservation.expires_at.isoformat(), "reserved_after": stock.reserved})
        # Every expiry passes here (the worker's and the one of any operation locking the row): one event each.
        emit(ReservationChanged(reservation=reservation, action="expired"))


def expire_due_of(rows: Iterable[Stock], *, now: datetime, held: dict[int, int] | None = None) -> int:
    """Expire the due active reservations of locked stock rows; return how many.

    `skip_locked`: a reservation row locked by another transaction is being released or fulfilled;
    that transaction locked the reservation first and waits for our stock row, so waiting for it
    here (the opposite lock order) could deadlock. It settles that reservation itself.

    A row whose `reserved` is 0 has no active reservation (every active reservation holds at least one
    unit and `reserved` counts them all: `verify_ledger` checks it), so it is not queried. `held`: per
    stock row, the units of the caller's own reservation, locked and checked not due; a row holding no
    more than that has no other reservation either.
    """
    held = held or {}
    by_pk = {row.pk: row for row in rows if row.reserved > held.get(row.pk, 0)}
    if not by_pk:
        return 0
    due = (Reservation.objects.select_for_update(skip_locked=True)
           .filter(stock_id__in=by_pk, status=Reservation.Status.ACTIVE, expires_at__lte=now).order_by("pk"))
    count = 0
    for reservation in due:
        expire_reservation(reservation, by_pk[reservation.stock_id], now=now)
        count += 1
    return count


def lock_rows_expiring_holds(pairs: Iterable[tuple[int, int]], *,
                             now: datetime | None = None) -> dict[tuple[int, int], Stock]:
    """Lock stock rows (primary-key order, `inventory.locks`) and expire their due reservations first."""
    rows = locks.lock_stock_rows(pairs)
    expire_due_of(rows.values(), now=now or timezone.now())
    return rows


def lock_row_expiring_holds(product_id: int, warehouse_id: int, *, create: bool = False,
                            now: datetime | None = None, held: int = 0) -> Stock | None:
    """Lock one stock row, after expiring its due reservations; None if it does not exist.

    `create`: a missing row is created first (then never None). The row is locked directly, so an
    existing row costs one statement; only a missing one pays for the insert and a second lock.
    `held`: units of the caller's own (locked, not due) reservation on this row (see `expire_due_of`).
    """
    stock = locks.lock_existing_stock_row(product_id, warehouse_id)
    if stock is None and create:
        locks.ensure_stock_rows([(product_id, warehouse_id)])
        stock = locks.lock_existing_stock_row(product_id, warehouse_id)
    if stock is not None:
        expire_due_of([stock], now=now or timezone.now(), held={stock.pk: held} if held else None)
    return stock


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def require_stock_change(actor, *warehouses: Warehouse) -> None:
    """PermissionDenied unless the actor may change the stock of every warehouse (`policies.can_change_stock`)."""
    for warehouse in warehouses:
        _require(policies.can_change_stock(actor, warehouse),
                 f"Only an admin or the manager or staff of warehouse {warehouse.code} may change its stock.")


@transaction.atomic
@stock_operation()
def assign_stock(*, actor, warehouse: Warehouse, product: Product, quantity: int, note: str = "",
                 lot: str | None = None, expires_on=lot_door.UNSET, ip: str | None = None) -> Stock:
    """Add `quantity` units (an `assign` movement), creating the stock row if needed.

    `lot` (a code) and `expires_on`: the lot the units come in as, for a lot-tracked product (created
    before any lock if new). Locks: the stock row (created first if missing). Raises PermissionDenied
    unless the actor manages the warehouse, InactiveObject, InvalidQuantity, LotRequired, NotLotTracked,
    LotMismatch.
    """
    check_quantity(quantity)
    _require(policies.can_assign_stock(actor, warehouse), "Only an admin or this warehouse's manager "
                                                          "may assign stock here.")
    check_active(warehouses=[warehouse], product=product)
    named = lot_door.resolve_lot(product=product, code=lot, expires_on=expires_on)
    stock = lock_row_expiring_holds(product.pk, warehouse.pk, create=True)
    lot_door.require_tracking(stock, product, named)
    movement = write_change(stock, change=quantity, kind=Kind.ASSIGN, actor=actor, note=note, lot=named)
    record_event(actor=actor, action="stock.assign", target=stock, ip=ip,
                 data={"movement": movement.pk, "quantity": quantity, "quantity_after": stock.quantity,
                       **({"lot": named.pk} if named else {})})
    return stock


@transaction.atomic
@stock_operation()
def adjust_stock(*, actor, warehouse: Warehouse, product: Product, delta: int, reason: str,
                 note: str = "", expected_quantity: int | None = None, lot: str | None = None,
                 expires_on=lot_door.UNSET, ip: str | None = None) -> Stock:
    """Change a balance by `delta` (an `adjust` movement: count, damage, loss, found, return, receipt,
    correction, expired).

    A lot-tracked product: a positive delta names its lot (`lot`, `expires_on`: created before any lock
    if new); a negative one takes the named lot alone, or without `lot` FEFO from lots that are not
    expired (one movement per lot). Reason `expired` must name its lot (expired units are never taken
    by FEFO). Locks: the stock row (created first if missing, for a positive delta), then its due
    reservations (expired). Raises PermissionDenied unless the actor operates the warehouse,
    StaleQuantity (with `current`) if `expected_quantity` is given and the locked row's quantity
    differs, InsufficientStock if a negative delta needs more than may be taken (nothing written),
    InactiveObject, InvalidQuantity, LotRequired, NotLotTracked, LotMismatch.
    """
    check_quantity(delta, allow_negative=True)
    if reason not in StockMovement.Reason.values:
        raise InvalidReason(f"Unknown reason {reason!r}.")
    _require(policies.can_adjust_stock(actor, warehouse), "Only an admin or this warehouse's manager or "
                                                          "staff may adjust stock here.")
    check_active(warehouses=[warehouse], product=product)
    named = lot_door.resolve_lot(product=product, code=lot, expires_on=expires_on, create=delta > 0)
    if delta < 0 and lot and named is None:
        raise InsufficientStock(available=0, requested=-delta, detail=f"Product {product.sku} has no lot {lot}.")
    stock = lock_row_expiring_holds(product.pk, warehouse.pk, create=delta > 0)
    if stock is None:
        raise InsufficientStock(available=0, requested=-delta)
    lot_door.require_tracking(stock, product, named, named=delta > 0 or reason == StockMovement.Reason.EXPIRED)
    if expected_quantity is not None and stock.quantity != expected_quantity:
        raise StaleQuantity(f"The quantity is {stock.quantity}, not the expected {expected_quantity}.",
                            current=stock.quantity)
    if delta > 0:
        movements = [write_change(stock, change=delta, kind=Kind.ADJUST, actor=actor, reason=reason, note=note,
                                  lot=named)]
    else:
        movements = take_units(stock, quantity=-delta, kind=Kind.ADJUST, actor=actor, reason=reason, note=note,
                               lot=named)
    record_event(actor=actor, action="stock.adjust", target=stock, ip=ip,
                 data={"movement": movements[-1].pk, "delta": delta, "reason": reason,
                       "quantity_after": stock.quantity,
                       **({"lots": {m.lot_id: m.quantity_change for m in movements}} if movements[0].lot_id else {})})
    return stock


def deduct_stock(*, actor, warehouse: Warehouse, product: Product, quantity: int,
                 reference: Reference, kind: str = Kind.PURCHASE, note: str = "",
                 savepoint: bool = True) -> list[StockMovement]:
    """Take `quantity` out of a warehouse for a request (a `purchase` movement by default).

    A lot-tracked product's units are taken FEFO from lots that are not expired, one movement per lot
    (returned in the order taken). The caller (a workflow service) has checked the actor's right to
    decide; this checks again that the actor operates the warehouse. Locks: the stock row. Raises
    PermissionDenied unless the actor operates the warehouse, InsufficientStock before writing anything
    if more than `available` is needed (reserved and expired units are not taken), InactiveObject,
    InvalidQuantity.

    One transaction, nested in the caller's as a savepoint. `savepoint=False`: no savepoint of its own
    (two statements fewer), for a caller whose atomic block lets every error of this call propagate out
    of it; an error caught inside the caller's block would leave that block unusable.
    """
    with transaction.atomic(savepoint=savepoint), stock_operation():
        check_quantity(quantity)
        require_stock_change(actor, warehouse)
        check_active(warehouses=[warehouse], product=product)
        stock = lock_row_expiring_holds(product.pk, warehouse.pk)
        if stock is None:
            raise InsufficientStock(available=0, requested=quantity)
        return take_units(stock, quantity=quantity, kind=kind, actor=actor, reference=reference, note=note)


@dataclass(frozen=True)
class StockChange:
    """One line of a batch: change the balance of (product, warehouse) by `delta`, or make it `target`.

    `lot_id`: for a lot-tracked product, the lot the line acts on (resolved by the caller before the
    batch); `delta`/`target` are then that lot's. A lot-tracked line without a lot may only leave the
    row as it is (a `target` equal to its quantity).
    """

    product_id: int
    warehouse_id: int
    delta: int | None = None
    target: int | None = None
    note: str = ""
    lot_id: int | None = None


def _at_line(error: Exception, index: int) -> Exception:
    """A batch's lot error (LotRequired, NotLotTracked), marked with the failing line's `index`."""
    error.index = index
    return error


@transaction.atomic
@stock_operation()
def apply_stock_changes(*, actor, changes: list[StockChange], kind: str, reason: str = "",
                        reference: Reference | None = None) -> list[StockMovement | None]:
    """Apply a batch of stock changes (a count, an import): all lines or none, one movement per changed line.

    Locks: every stock row of the batch in one query, in primary-key order (missing rows are created
    first, for positive changes). Then reads the products' `tracking` under those locks and checks every
    line before writing any: a line naming a lot for a product that is not lot-tracked (NotLotTracked),
    a lot-tracked line without a lot that would change the row (LotRequired) — both with `.index` —
    and a line that would take a lot below zero or a row below what it holds reserved raise; for the
    last, InsufficientStock names the first such `product` and carries every failing line's index in
    `.shortfalls`; nothing is written. Raises PermissionDenied unless the actor may change stock in
    every warehouse (assigning asks `can_assign_stock`), InvalidQuantity past MAX_BALANCE. Returns, per
    line, its movement or None when the line changes nothing.
    """
    warehouses = Warehouse.objects.in_bulk({change.warehouse_id for change in changes})
    allowed = policies.can_assign_stock if kind == Kind.ASSIGN else policies.can_change_stock
    for warehouse in warehouses.values():
        _require(allowed(actor, warehouse), f"You may not change the stock of warehouse {warehouse.code}.")
    keys = [(change.product_id, change.warehouse_id) for change in changes]
    locks.ensure_stock_rows(key for key, change in zip(keys, changes, strict=True)
                            if (change.delta or 0) > 0 or (change.target or 0) > 0)
    existing = Stock.objects.filter(product_id__in={p for p, _ in keys}, warehouse_id__in={w for _, w in keys})
    present = set(existing.values_list("product_id", "warehouse_id"))
    rows = lock_rows_expiring_holds([key for key in keys if key in present])
    tracking = lot_door.current_tracking({product for product, _ in keys})
    lot_door.note_tracking(rows.values(), tracking)
    named = {change.lot_id for change in changes if change.lot_id is not None}
    lots = Lot.objects.in_bulk(named) if named else {}
    deltas, shortfalls = [], []
    row_after = {key: row.quantity for key, row in rows.items()}
    lot_after: dict[tuple[tuple[int, int], int], int] = {}
    for index, (key, change) in enumerate(zip(keys, changes, strict=True)):
        row = rows.get(key)
        quantity = row_after.get(key, 0)
        lot_tracked = tracking[key[0]] == Product.Tracking.LOT
        if change.lot_id is not None and not lot_tracked:
            raise _at_line(NotLotTracked("This product is not lot-tracked: it has no lots."), index)
        if change.lot_id is not None:
            balance_key = (key, change.lot_id)
            if balance_key not in lot_after:
                lot_after[balance_key] = lot_door.LotBook.of(row).balance(lots[change.lot_id]) if row else 0
            base = lot_after[balance_key]
        else:
            base = quantity
        delta = change.delta if change.delta is not None else change.target - base
        if lot_tracked and change.lot_id is None and delta:
            raise _at_line(LotRequired("This product is lot-tracked: name the lot."), index)
        deltas.append(delta)
        row_after[key] = quantity + delta
        if change.lot_id is not None:
            lot_after[(key, change.lot_id)] = base + delta
        reserved = getattr(row, "reserved", 0)
        if delta and (quantity + delta < reserved or base + delta < 0):
            shortfalls.append((index, min(quantity - reserved, base) if change.lot_id else quantity - reserved,
                               -delta))
    if shortfalls:
        index, available, requested = shortfalls[0]
        error = InsufficientStock(available=max(available, 0), requested=requested, product=keys[index][0])
        error.shortfalls = [index for index, _, _ in shortfalls]
        raise error
    movements = []
    for key, change, delta in zip(keys, changes, deltas, strict=True):
        if not delta:
            movements.append(None)
            continue
        movements.append(write_change(rows[key], change=delta, kind=kind, actor=actor, reason=reason, note=change.note,
                                      reference=reference, lot=lots.get(change.lot_id), checked=True))
    # The operation announces the whole batch in one event: a subscriber reads every row in one query.
    return movements
