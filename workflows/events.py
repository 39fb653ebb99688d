"""What the workflow services announce through the event seam (`core.events`): a document changed state.

Each event carries the saved document row and an `action`; it is emitted in the transaction that did it,
after the document is saved (webhooks turn them into `purchase_request.created` and the like, SPEC §16).
"""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class PurchaseRequestChanged(Event):
    """`action`: "created" | "decided" | "cancelled"."""

    purchase_request: object
    action: str


@dataclass(frozen=True)
class TransferRequestChanged(Event):
    """`action`: "created" | "decided" | "shipped" | "received" (after each receipt) | "closed" | "cancelled".

    A direct transfer's approval (which moves the units) is "decided" only; a receipt that changes nothing
    (every line 0/0) emits nothing."""

    transfer_request: object
    action: str


@dataclass(frozen=True)
class StockCountChanged(Event):
    """`action`: "submitted" | "decided" (applied or rejected, also when applied at submit).

    A count applied at submit is saved once (`applied`) and then emits "submitted" and "decided", in that
    order, both with that row."""

    stock_count: object
    action: str
