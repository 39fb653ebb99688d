"""Lots in the stock door (SPEC §14): the lot units come in as, and the lots units go out of.

Part of the door: nothing else writes a lot balance (`StockLot.quantity`). The rules:

- **Coming in** names its lot. `resolve_lot` turns a code (and an optional `expires_on`) into a `Lot`,
  creating a new one, BEFORE any stock row is locked (so two operations creating the same lot wait on
  the lot's unique index, never on each other's stock rows: no new lock order).
- **Under the row lock**, `require_tracking` re-reads the product's `tracking` (a fresh statement, after
  the lock is held: a tracking switch locks the product row, then its stock rows, so an operation either
  finishes before a switch looks or sees the switched value) and checks the lot against it.
- `LotBook(stock)` reads a locked row's lot balances once (one query, lot-tracked products only): the
  expired units, the FEFO order of what may be taken. Every write goes through it, so the book and the
  database agree for the rest of the operation.
- **Going out** without a named lot takes FEFO from lots that are not expired (`plan_fefo`), one movement
  per lot in the order taken; a named lot is taken alone (`plan_named`), an expired one only within
  `quantity − reserved`.
"""

import datetime

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from core.compiled import CompiledRead
from core.identity import identity_key

from ..errors import InsufficientStock, LotMismatch, LotRequired, NotLotTracked
from ..lots import Lot, StockLot, fefo_order, is_expired, today
from ..models import Product, Stock

# "expires_on not given" (None means "given, no date").
UNSET = object()


def is_lot_tracked(product: Product) -> bool:
    return product.tracking == Product.Tracking.LOT


def find_lot(product: Product, code: str) -> Lot | None:
    """The product's lot with this code (compared like SKUs), or None."""
    return Lot.objects.filter(product=product, code_key=identity_key(code)).first()


def resolve_lot(*, product: Product, code: str | None, expires_on=UNSET, create: bool = True) -> Lot | None:
    """The lot units of `product` come in as: None for a product that is not lot-tracked.

    Call before locking any stock row. A code the product does not have yet creates the lot (with
    `expires_on`, or none), in the caller's transaction; `create=False` only looks (units going out: no
    code is None, FEFO). Raises LotRequired (no code for units of a lot-tracked product coming in),
    NotLotTracked (a code for one that is not), LotMismatch (an `expires_on` given that differs from the
    known lot's; a date given for a lot without one differs too).
    """
    if not is_lot_tracked(product):
        if code:
            raise NotLotTracked(f"Product {product.sku} is not lot-tracked: it has no lots.")
        return None
    if not code:
        if create:
            raise LotRequired(f"Product {product.sku} is lot-tracked: name the lot.")
        return None
    lot = find_lot(product, code)
    if lot is None and create:
        lot = _create_lot(product, code, None if expires_on is UNSET else expires_on)
        return lot
    if lot is not None and expires_on is not UNSET and expires_on != lot.expires_on:
        raise LotMismatch(code=lot.code, expires_on=lot.expires_on)
    return lot


def _create_lot(product: Product, code: str, expires_on: datetime.date | None) -> Lot:
    """Create a lot; another transaction creating the same code first wins (we wait for it, then read it)."""
    try:
        with transaction.atomic():
            return Lot.objects.create(product=product, code=code, expires_on=expires_on)
    except IntegrityError:
        lot = find_lot(product, code)
        if lot is None:
            raise
        if lot.expires_on != expires_on:
            raise LotMismatch(code=lot.code, expires_on=lot.expires_on) from None
        return lot


def current_tracking(product_ids) -> dict[int, str]:
    """Each product's `tracking` as committed now (a fresh statement: call it with the stock rows locked)."""
    return dict(Product.objects.filter(pk__in=list(product_ids)).values_list("pk", "tracking").order_by())


def note_tracking(rows, tracking: dict[int, str] | None = None) -> None:
    """Read (one query) and note on each locked row its product's `tracking` as it is now, under the lock."""
    rows = [row for row in rows if getattr(row, "_tracking", None) is None]
    if not rows:
        return
    tracking = tracking or current_tracking({row.product_id for row in rows})
    for row in rows:
        row._tracking = tracking[row.product_id]


def noted_lot_tracked(stock: Stock) -> bool | None:
    """Whether a row's product is lot-tracked as noted under its lock by the operation, or None if not noted."""
    tracking = getattr(stock, "_tracking", None)
    return None if tracking is None else tracking == Product.Tracking.LOT


def row_is_lot_tracked(stock: Stock) -> bool:
    """Whether a locked row's product is lot-tracked, as read under the lock (read now if not noted yet)."""
    note_tracking([stock])
    return stock._tracking == Product.Tracking.LOT


def require_tracking(stock: Stock, product: Product, lot: Lot | None, *, named: bool = True) -> None:
    """Under the row lock: the lot (or its absence) fits the product's tracking as it is now.

    `named=False`: the operation takes by FEFO and names no lot, which fits either tracking.
    Raises LotRequired (no lot for a lot-tracked product, when one must be named), NotLotTracked.
    """
    lot_tracked = row_is_lot_tracked(stock)
    product.tracking = stock._tracking
    if lot_tracked and lot is None and named:
        raise LotRequired(f"Product {product.sku} is lot-tracked: name the lot.")
    if not lot_tracked and lot is not None:
        raise NotLotTracked(f"Product {product.sku} is not lot-tracked: it has no lots.")


_BALANCE_FIELDS = [field.attname for field in StockLot._meta.concrete_fields]
_LOT_FIELDS = [field.attname for field in Lot._meta.concrete_fields]
# A row's balances with their lots, FEFO first: the read every lot-tracked take runs under the row's lock.
_BOOK = CompiledRead(lambda stock_id: StockLot.objects.filter(stock_id=stock_id).order_by(*fefo_order("lot__"))
                     .values_list(*_BALANCE_FIELDS, *(f"lot__{name}" for name in _LOT_FIELDS)))


class LotBook:
    """The lot balances of one locked stock row, read once (one query) and kept in step with every write."""

    def __init__(self, stock: Stock):
        self.stock = stock
        self.alias = alias = stock._state.db or "default"  # the database holding the row's lock
        self.balances: dict[int, StockLot] = {}
        split = len(_BALANCE_FIELDS)
        for row in _BOOK.rows(stock.pk, using=alias):
            balance = StockLot.from_db(alias, _BALANCE_FIELDS, row[:split])
            balance.lot = Lot.from_db(alias, _LOT_FIELDS, row[split:])
            self.balances[balance.lot_id] = balance
        self.on = today()

    @classmethod
    def of(cls, stock: Stock) -> "LotBook":
        """The book of a locked row, read once per row object (the row object lives as long as its lock)."""
        book = getattr(stock, "_lot_book", None)
        if book is None:
            book = stock._lot_book = cls(stock)
        return book

    @property
    def expired(self) -> int:
        """Units of expired lots on hand."""
        return sum(balance.quantity for balance in self.balances.values()
                   if balance.quantity > 0 and is_expired(balance.lot.expires_on, on=self.on))

    def balance(self, lot: Lot) -> int:
        balance = self.balances.get(lot.pk)
        return balance.quantity if balance else 0

    def fefo(self) -> list[StockLot]:
        """Balances that may be taken without naming a lot: above 0, not expired, first-expired first."""
        return [b for b in self.balances.values() if b.quantity > 0 and not is_expired(b.lot.expires_on, on=self.on)]

    def plan_fefo(self, quantity: int) -> list[tuple[Lot, int]]:
        """`quantity` units by FEFO as [(lot, units)], in the order taken; the caller has checked they exist."""
        plan, left = [], quantity
        for balance in self.fefo():
            if left == 0:
                break
            units = min(left, balance.quantity)
            plan.append((balance.lot, units))
            left -= units
        if left:
            raise InsufficientStock(available=quantity - left, requested=quantity)
        return plan

    def add(self, lot: Lot, change: int) -> None:
        """Change one lot's balance by `change` (the row's lock is held; the database refuses below 0)."""
        balance = self.balances.get(lot.pk)
        if balance is None:
            balance = StockLot.objects.create(stock=self.stock, lot=lot, quantity=change)
            balance.lot = lot
            self.balances[lot.pk] = balance
            return
        now = timezone.now()
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(_add_sql(connection), [change, connection.ops.adapt_datetimefield_value(now), balance.pk])
        balance.quantity += change
        balance.updated_at = now


def _add_sql(connection) -> str:
    """One balance's change (`StockLot.quantity += %s`, `updated_at`), written as SQL: the ORM's UPDATE costs
    several times the statement on the hot path (core/compiled.py)."""
    quote = connection.ops.quote_name
    meta = StockLot._meta
    quantity, updated_at = (quote(meta.get_field(name).column) for name in ("quantity", "updated_at"))
    return (f"UPDATE {quote(meta.db_table)} SET {quantity} = {quantity} + %s, {updated_at} = %s "
            f"WHERE {quote(meta.pk.column)} = %s")


def expired_on_hand(stock: Stock) -> int:
    """Units of expired lots on a locked row (0, with no further query, for a product that is not lot-tracked or
    a row holding no units: lot balances are never below 0 and sum to `quantity`)."""
    if not row_is_lot_tracked(stock) or (stock.quantity == 0 and getattr(stock, "_lot_book", None) is None):
        return 0
    return LotBook.of(stock).expired


def check_named_take(stock: Stock, book: LotBook, lot: Lot, units: int, *, release: int = 0) -> None:
    """A take that names its lot: at most the lot's balance; from a lot that is not expired at most
    `available` (+ `release`), from an expired one at most `quantity − reserved` (promises stay covered)."""
    balance = book.balance(lot)
    if is_expired(lot.expires_on, on=book.on):
        limit = stock.quantity - stock.reserved + release
    else:
        limit = stock.quantity - stock.reserved - book.expired + release
    allowed = max(0, min(balance, limit))
    if units > allowed:
        detail = f"Not enough stock in lot {lot.code}: {allowed} may be taken, {units} requested."
        raise InsufficientStock(available=allowed, requested=units, detail=detail)
