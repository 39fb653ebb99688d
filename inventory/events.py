"""What the stock door announces through the event seam (`core.events`); subscribers are listed in
docs/ARCHITECTURE.md and registered in each app's `AppConfig.ready()`."""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class StockChanged(Event):
    """An operation changed the quantity of stock rows it holds locked.

    `rows`: `(stock, quantity before the operation)` per changed row, in the order written; a row may
    appear more than once in a batch (its first entry carries the quantity before the batch). The
    subscribers run under those row locks, in the operation's transaction.
    """

    rows: tuple[tuple[object, int], ...]
