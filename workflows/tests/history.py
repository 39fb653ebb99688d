"""Test data: stock history at chosen instants, written through the real stock services.

`time_machine` moves the clock (model defaults included), so each entry is an ordinary service
call made "at" its instant: the balances, the ledger and the alerts are exactly what production
would have written. Shared by the dashboards' and reports' tests (both sit above workflows).
"""

from datetime import datetime

import time_machine

from accounts.models import Role, User
from core.decisions import RequestStatus
from inventory.models import Stock, StockMovement
from inventory.services import Reference, adjust_stock, assign_stock, deduct_stock

from .factories import PurchaseRequestFactory

Kind = StockMovement.Kind


def _default_actor(warehouse):
    if warehouse.manager_id:
        return warehouse.manager
    return User.objects.filter(role__name=Role.Name.ADMIN, status=User.Status.ACTIVE).order_by("pk").first()


def record_history(*, warehouse, product, entries, actor=None) -> Stock:
    """Replay `entries` = [(instant, quantity_change, kind[, reason])] through the services, in order.

    `assign` → assign_stock, `adjust` → adjust_stock (reason default "count"), `purchase` → an
    approved purchase request and deduct_stock. Without `actor`, the warehouse's manager acts.
    """
    actor = actor or _default_actor(warehouse)
    for entry in entries:
        instant, change, kind = entry[:3]
        reason = entry[3] if len(entry) > 3 else "count"
        with time_machine.travel(instant, tick=False):
            if kind == Kind.ASSIGN:
                assign_stock(actor=actor, warehouse=warehouse, product=product, quantity=change)
            elif kind == Kind.ADJUST:
                adjust_stock(actor=actor, warehouse=warehouse, product=product, delta=change, reason=reason)
            elif kind == Kind.PURCHASE:
                purchase = PurchaseRequestFactory(warehouse=warehouse, product=product, quantity=-change,
                                                  status=RequestStatus.APPROVED, decided_by=actor, decided_at=instant)
                deduct_stock(actor=actor, warehouse=warehouse, product=product, quantity=-change,
                             reference=Reference("purchase_request", purchase.pk))
            else:
                raise ValueError(f"no service writes {kind!r} history here")
    return Stock.objects.get(warehouse=warehouse, product=product)


def at(tz, *args) -> datetime:
    """An aware datetime in `tz`: at(berlin, 2026, 1, 31, 23, 59)."""
    return datetime(*args, tzinfo=tz)
