"""The outbox: the subscribers that turn what the services announce into webhook events (SPEC §16).

Each subscriber runs in the transaction of the change (the event seam, `core.events`), under the locks the
emitter holds, and writes ONE event row per webhook event (a `StockChanged` of several rows: one row per
stock row, in one INSERT) and nothing else: fan-out to endpoints and delivery happen in the worker
(`webhooks.delivery`), so a transaction pays one query for "is anyone listening?" whatever it announces
(`webhooks.listening`: the active endpoints' filters, read once per transaction), and when someone listens
one bulk insert per announcement (and, for lot-tracked rows, one read of their expired units). A rollback drops the
event with the change. After the commit the worker is woken (`transaction.on_commit`); a lost wake-up is
covered by the worker's periodic sweep.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from inventory.events import AlertChanged, ReservationChanged, StockChanged
from inventory.lots import expired_units
from inventory.models import Product, Stock
from inventory.serializers import LowStockAlertSerializer, ReservationSerializer, StockMovementSerializer
from inventory.services.lots import noted_lot_tracked
from workflows.events import PurchaseRequestChanged, StockCountChanged, TransferRequestChanged
from workflows.models import StockCountLine, TransferLine
from workflows.serializers import (
    PurchaseRequestSerializer,
    StockCountLineSerializer,
    StockCountSerializer,
    TransferLineSerializer,
    TransferRequestSerializer,
)

from .delivery import schedule_pump
from .listening import wanted
from .models import EventType, WebhookEvent

logger = logging.getLogger(__name__)


def store_events(events: list[WebhookEvent]) -> list[WebhookEvent]:
    """Insert the events (one statement) and wake the worker after the commit."""
    if not events:
        return []
    created = WebhookEvent.objects.bulk_create(events)
    transaction.on_commit(wake_worker)
    return created


def wake_worker() -> None:
    """After the commit: make sure the pump runs now. Never fails the request that already committed."""
    try:
        schedule_pump(timezone.now())
    except Exception:  # the periodic sweep picks the event up anyway
        logger.exception("could not wake the webhook worker; the next sweep delivers the event")


def _event(event_type: str, data: dict, warehouse_ids: list[int], now) -> WebhookEvent:
    return WebhookEvent(type=event_type, data=data, warehouse_ids=sorted(set(warehouse_ids)), created_at=now)


# --- stock.changed ------------------------------------------------------------------------------------

def stock_changed_data(stock: Stock, movements, expired: int) -> dict:
    """`{warehouse, product, version, movements, quantity, reserved, incoming, expired, available}`."""
    return {
        "warehouse": stock.warehouse_id,
        "product": stock.product_id,
        "version": stock.version,
        "movements": StockMovementSerializer(movements, many=True).data,
        "quantity": stock.quantity,
        "reserved": stock.reserved,
        "incoming": stock.incoming,
        "expired": expired,
        "available": max(0, stock.quantity - stock.reserved - expired),
    }


def _may_hold_lots(stock: Stock) -> bool:
    # The door noted under the row lock whether the product is lot-tracked; else a product loaded along and
    # not lot-tracked holds no lot balance. Either way: no query for the expired units of an untracked row.
    noted = noted_lot_tracked(stock)
    if noted is not None:
        return noted
    return not (Stock.product.is_cached(stock) and stock.product.tracking == Product.Tracking.NONE)


def _listened_and_expired(rows) -> tuple[bool, dict[int, int]]:
    """Does an active endpoint want `stock.changed` (`webhooks.listening`: read once per transaction), and
    then the expired units of the rows that may hold lots (one query, only when someone listens)."""
    if not wanted(EventType.STOCK_CHANGED):
        return False, {}
    lot_rows = [row.stock.pk for row in rows if _may_hold_lots(row.stock)]
    return True, expired_units(lot_rows) if lot_rows else {}


def record_stock_changed(event: StockChanged) -> list[WebhookEvent]:
    """Subscriber of `StockChanged`: one `stock.changed` per changed row, the row's numbers after the operation."""
    rows = event.rows
    listened, expired = _listened_and_expired(rows)
    if not listened:
        return []
    now = timezone.now()
    return store_events([
        _event(EventType.STOCK_CHANGED, stock_changed_data(row.stock, row.movements, expired.get(row.stock.pk, 0)),
               [row.stock.warehouse_id], now)
        for row in rows
    ])


# --- documents ------------------------------------------------------------------------------------------

def _document_event(event_type: str, key: str, snapshot: Callable[[], dict],
                    warehouse_ids: list[int]) -> list[WebhookEvent]:
    """One event `{key: snapshot()}`; the snapshot (the API's shape) is taken only if an endpoint wants it."""
    if event_type not in EventType.values:
        raise ValueError(f"{event_type!r} is not a webhook event type")
    if not wanted(event_type):
        return []
    return store_events([_event(event_type, {key: snapshot()}, warehouse_ids, timezone.now())])


def record_alert_event(event: AlertChanged) -> list[WebhookEvent]:
    """Subscriber of `AlertChanged`: `alert.opened` / `alert.resolved` with `{alert}`."""
    alert = event.alert
    return _document_event(f"alert.{event.action}", "alert", lambda: LowStockAlertSerializer(alert).data,
                           [alert.warehouse_id])


def record_reservation_event(event: ReservationChanged) -> list[WebhookEvent]:
    """Subscriber of `ReservationChanged`: `reservation.<action>` with `{reservation}`."""
    reservation = event.reservation
    return _document_event(f"reservation.{event.action}", "reservation",
                           lambda: ReservationSerializer(reservation).data, [reservation.warehouse_id])


def record_purchase_request_event(event: PurchaseRequestChanged) -> list[WebhookEvent]:
    """Subscriber of `PurchaseRequestChanged`: `purchase_request.<action>` with `{purchase_request}`."""
    request = event.purchase_request
    return _document_event(f"purchase_request.{event.action}", "purchase_request",
                           lambda: PurchaseRequestSerializer(request).data, [request.warehouse_id])


def record_transfer_request_event(event: TransferRequestChanged) -> list[WebhookEvent]:
    """Subscriber of `TransferRequestChanged`: `transfer_request.<action>` with `{transfer_request}` and its
    lines; about both of its warehouses."""
    transfer = event.transfer_request
    return _document_event(f"transfer_request.{event.action}", "transfer_request",
                           lambda: _with_fresh_lines(TransferRequestSerializer, TransferLineSerializer, transfer,
                                                     TransferLine.objects.filter(transfer_id=transfer.pk)),
                           [transfer.source_warehouse_id, transfer.destination_warehouse_id])


def record_stock_count_event(event: StockCountChanged) -> list[WebhookEvent]:
    """Subscriber of `StockCountChanged`: `stock_count.<action>` with `{stock_count}` and its lines."""
    count = event.stock_count
    return _document_event(f"stock_count.{event.action}", "stock_count",
                           lambda: _with_fresh_lines(StockCountSerializer, StockCountLineSerializer, count,
                                                     StockCountLine.objects.filter(count_id=count.pk)),
                           [count.warehouse_id])


def _with_fresh_lines(serializer, line_serializer, document, lines) -> dict:
    """The document's API shape with its lines read now: lines the emitter prefetched before changing them
    (shipped, received, counted) would show their old numbers."""
    data = dict(serializer(document).data)
    data["lines"] = line_serializer(lines.order_by("id"), many=True).data
    return data
