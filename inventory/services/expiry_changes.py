"""Part of the stock door: announcing that the `expired` units of stock rows changed without any stock change.

A lot expires at a day change (or its `expires_on` is corrected): the rows holding its units keep their
`quantity`, but their `expired` (and so `available`) changes. Subscribers of `StockChanged` (webhooks) learn it
like any other change: each row's `version` is raised by 1 under its lock, and one `StockChanged` lists the
rows with their numbers unchanged and no movements.
"""

from core.events import emit

from ..events import RowChange, StockChanged
from ..models import Stock
from .stock import save_buckets


def announce_expired_changed(rows: list[Stock]) -> None:
    """Raise the `version` of each locked row (the caller holds the locks, in primary-key order) and emit one
    `StockChanged` for them. Nothing for no rows."""
    if not rows:
        return
    for stock in rows:
        save_buckets(stock)
    emit(StockChanged(rows=tuple(
        RowChange(stock=stock, quantity_before=stock.quantity, reserved_before=stock.reserved,
                  incoming_before=stock.incoming)
        for stock in rows)))
