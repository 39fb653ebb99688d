"""Lots as catalogue entries (SPEC §14): creating a lot ahead of its units, correcting its `expires_on`.

Neither writes a lot balance (that is the door's `inventory.services.lots`). A correction changes which units
are expired, so it locks the stock rows holding the lot, announces the rows whose `expired` changed
(`expiry_changes`) and settles their expiry alerts, all in one transaction.
"""

import datetime

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import NotFound, PermissionDenied
from core.identity import identity_key

from .. import expiry_alerts, locks, policies
from ..errors import DuplicateLot, NotLotTracked
from ..lots import Lot, StockLot, is_expired
from ..models import Product
from .expiry_changes import announce_expired_changed


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


@transaction.atomic
def create_lot(*, actor, product: Product, code: str, expires_on: datetime.date | None = None,
               ip: str | None = None) -> Lot:
    """Add a lot (no units) to a lot-tracked product. Locks nothing (the unique index on (product, code key)
    decides races).

    Raises PermissionDenied unless the actor is an admin or a manager, NotLotTracked for a product that is not
    lot-tracked, DuplicateLot for a code the product has (compared like SKUs; also under a concurrent create).
    """
    if not policies.can_create_lots(actor):
        raise PermissionDenied("Only an admin or a manager may create lots.")
    tracking = Product.objects.filter(pk=product.pk).values_list("tracking", flat=True).first()
    if tracking != Product.Tracking.LOT:
        raise NotLotTracked(f"Product {product.sku} is not lot-tracked: it has no lots.")
    if Lot.objects.filter(product=product, code_key=identity_key(code)).exists():
        raise DuplicateLot(f"Product {product.sku} already has a lot {code}.")
    try:
        with transaction.atomic():
            lot = Lot.objects.create(product=product, code=code, expires_on=expires_on)
    except IntegrityError as exc:  # a concurrent create won the code
        raise DuplicateLot(f"Product {product.sku} already has a lot {code}.") from exc
    record_event(actor=actor, action="lot.create", target=lot, ip=ip,
                 data={"product": product.pk, "code": lot.code, "expires_on": _iso(expires_on)})
    return lot


@transaction.atomic
def correct_expiry(*, actor, lot: Lot, expires_on: datetime.date | None, ip: str | None = None) -> Lot:
    """Correct a lot's mistyped `expires_on` (admins).

    Locks: the lot row (`FOR NO KEY UPDATE`: a balance or movement naming the lot takes `FOR KEY SHARE` on it
    under a stock row lock, which this does not block), then the stock rows holding units of the lot (primary-
    key order). Rows whose `expired` changes get their `version` raised and one `StockChanged`; the lot's
    expiry alerts open or resolve at once (resolved when the new date is null or beyond the window). An audit
    event `lot.update` records the old and the new date. Raises PermissionDenied unless the actor is an admin,
    NotFound if the lot is gone.
    """
    if not policies.can_correct_lot_expiry(actor):
        raise PermissionDenied("Only an admin may correct a lot's expiry date.")
    locked = Lot.objects.select_for_update(no_key=True).filter(pk=lot.pk).first()
    if locked is None:
        raise NotFound("This lot no longer exists.")
    before = locked.expires_on
    if before == expires_on:
        return locked
    rows = locks.lock_stock_rows_by_id(
        StockLot.objects.filter(lot=locked, quantity__gt=0).values_list("stock_id", flat=True))
    locked.expires_on = expires_on
    locked.save(update_fields=["expires_on"])
    if is_expired(before) != is_expired(expires_on):
        announce_expired_changed(rows)
    expiry_alerts.settle({(row.pk, locked.pk) for row in rows})
    record_event(actor=actor, action="lot.update", target=locked, ip=ip,
                 data={"product": locked.product_id, "code": locked.code,
                       "expires_on": {"before": _iso(before), "after": _iso(expires_on)}, "rows": len(rows)})
    return locked
