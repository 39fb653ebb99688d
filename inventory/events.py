"""What the stock door announces through the event seam (`core.events`); subscribers are listed in
docs/ARCHITECTURE.md and registered in each app's `AppConfig.ready()`."""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class RowChange:
    """One stock row an operation changed: the locked row (numbers after), its numbers before, its movements."""

    stock: object
    quantity_before: int
    reserved_before: int
    incoming_before: int
    movements: tuple = ()

    @property
    def quantity_changed(self) -> bool:
        return self.stock.quantity != self.quantity_before


@dataclass(frozen=True)
class StockChanged(Event):
    """One door operation changed the `quantity`, `reserved` or `incoming` of stock rows it holds locked.

    `rows`: each changed row once, in the order first touched, with its numbers before the operation
    and the ledger rows the operation wrote on it (in order; none for a change of `reserved` or
    `incoming` alone). Emitted at the end of the operation (`inventory.services.stock.stock_operation`);
    the subscribers run under those row locks, in the operation's transaction.
    """

    rows: tuple[RowChange, ...]


@dataclass(frozen=True)
class AlertChanged(Event):
    """An alert opened or resolved (`action`: "opened" | "resolved"); emitted in the transaction that did it.

    Emitted by `inventory.alerts` (a stock change or a threshold set, changed or deleted). An alert resolved
    by an UPDATE arrives without being read back: `id`, `product_id`, `warehouse_id`, `status` and
    `resolved_at` are set, every other field loads from the row on first read (one query per field; read
    `LowStockAlert.objects.get(pk=event.alert.pk)` once when you need several).
    """

    alert: object
    action: str


@dataclass(frozen=True)
class ReservationChanged(Event):
    """A reservation was created, released, fulfilled or expired (`action`: "created" | "released" |
    "fulfilled" | "expired"); emitted in that transaction, after the reservation row is saved.

    `expired` comes from `inventory.services.stock.expire_reservation`, for the worker's expiry and for the
    one any operation locking the stock row does first (once per reservation)."""

    reservation: object
    action: str
