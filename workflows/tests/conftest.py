"""Fixtures for workflow tests: stock on hand, pending requests and a snapshot of everything they touch."""

import pytest

from accounts.models import AuditEvent
from core.models import IdempotencyRecord
from inventory.models import Stock, StockMovement
from inventory.services import assign_stock
from workflows.models import PurchaseRequest, TransferRequest

from .factories import PurchaseRequestFactory, TransferRequestFactory


def put_stock(world, warehouse, quantity, product=None):
    """Put `quantity` units on hand through the stock service (an `assign` movement)."""
    return assign_stock(actor=world.admin, warehouse=warehouse, product=product or world.product, quantity=quantity)


def quantity_of(warehouse, product) -> int:
    row = Stock.objects.filter(warehouse=warehouse, product=product).first()
    return row.quantity if row else 0


def snapshot() -> dict:
    """Everything a workflow call may change; equal snapshots mean nothing was written."""
    return {
        "purchases": list(PurchaseRequest.objects.order_by("pk").values_list(
            "pk", "status", "decided_by", "decided_at", "decision_reason")),
        "transfers": list(TransferRequest.objects.order_by("pk").values_list(
            "pk", "status", "decided_by", "decided_at", "decision_reason")),
        "stock": list(Stock.objects.order_by("pk").values_list("pk", "quantity")),
        "movements": StockMovement.objects.count(),
        "audit": AuditEvent.objects.count(),
        "idempotency": IdempotencyRecord.objects.count(),
    }


def ledger_consistent() -> bool:
    """Every stock row equals the sum of its movements, and each movement's `quantity_after` chains."""
    for stock in Stock.objects.all():
        running = 0
        for movement in StockMovement.objects.filter(stock=stock).order_by("id"):
            running += movement.quantity_change
            if movement.quantity_after != running:
                return False
        if running != stock.quantity:
            return False
    return True


@pytest.fixture
def purchase(world):
    """A pending purchase request by the viewer for 3 units of `product` from warehouse A."""
    return PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=3,
                                  requested_by=world.viewer)


@pytest.fixture
def transfer(world):
    """A pending transfer request by manager A: 4 units of `product` from A to B."""
    return TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                  product=world.product, quantity=4, requested_by=world.manager_a)
