import pytest

from inventory.models import Stock, StockMovement
from inventory.services import Reference, adjust_stock, assign_stock, deduct_stock, move_stock
from inventory_project.api.errors import InsufficientStock, PermissionDenied


@pytest.mark.django_db
def test_assign_adjust_deduct_move_keep_ledger_in_step(world):
    stock = assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=world.product, quantity=10)
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-3, reason="damage")
    deduct_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=2,
                 reference=Reference("purchase_request", 1))
    move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_b, product=world.product, quantity=4,
               reference=Reference("transfer_request", 1))
    stock.refresh_from_db()
    dest = Stock.objects.get(warehouse=world.wh_b, product=world.product)
    assert (stock.quantity, dest.quantity) == (1, 4)
    assert [m.quantity_after for m in StockMovement.objects.filter(stock=stock).order_by("id")] == [10, 7, 5, 1]
    with pytest.raises(InsufficientStock) as err:
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-2, reason="loss")
    assert err.value.extra == {"available": 1, "requested": 2}
    with pytest.raises(PermissionDenied):
        adjust_stock(actor=world.staff_b, warehouse=world.wh_a, product=world.product, delta=1, reason="found")
