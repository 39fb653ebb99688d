"""The stock services on the real database: every quantity change writes its ledger row and audit event."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent
from core.errors import DomainError, PermissionDenied
from inventory import services
from inventory.errors import InactiveObject, InsufficientStock, InvalidQuantity
from inventory.models import MAX_QUANTITY, Stock, StockMovement
from inventory.services import MAX_BALANCE, Reference, adjust_stock, assign_stock, deduct_stock, move_stock


def state():
    return (list(Stock.objects.order_by("pk").values_list("pk", "quantity")), StockMovement.objects.count(),
            AuditEvent.objects.count())


def chain(stock):
    return list(StockMovement.objects.filter(stock=stock).order_by("id").values_list("quantity_change",
                                                                                      "quantity_after"))


@pytest.mark.django_db
def test_assign_creates_the_row_then_adds_and_records_ledger_and_audit(world):
    stock = assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=world.product, quantity=10,
                         note="opening", ip="10.0.0.1")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    stock.refresh_from_db()
    assert stock.quantity == 15
    assert chain(stock) == [(10, 10), (5, 15)]
    assert list(StockMovement.objects.order_by("id").values_list("kind", flat=True)) == ["assign", "assign"]
    event = AuditEvent.objects.filter(action="stock.assign").order_by("id").first()
    assert (event.actor, event.ip, event.target, event.data["quantity"]) == (world.manager_a, "10.0.0.1",
                                                                             f"stock:{stock.pk}", 10)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_a", "viewer", "manager_b"])
def test_only_admins_and_the_warehouses_manager_may_assign(world, who):
    with pytest.raises(PermissionDenied):
        assign_stock(actor=getattr(world, who), warehouse=world.wh_a, product=world.product, quantity=1)
    assert state() == ([], 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -3, 1.5, "2", True, MAX_QUANTITY + 1])
def test_assign_refuses_invalid_quantities(world, quantity):
    with pytest.raises(InvalidQuantity):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=quantity)
    assert state() == ([], 0, 0)


@pytest.mark.django_db
def test_assign_refuses_inactive_warehouses_and_products(world):
    world.product.is_active = False
    world.product.save()
    with pytest.raises(InactiveObject):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    world.wh_b.is_active = False
    world.wh_b.save()
    with pytest.raises(InactiveObject):
        assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product2, quantity=1)
    assert state() == ([], 0, 0)


@pytest.mark.django_db
def test_a_balance_may_not_grow_beyond_the_maximum(world, monkeypatch):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=MAX_QUANTITY)
    before = state()
    # Reaching 10**15 in 10**9 steps would take a million calls: lower the ceiling for this test.
    monkeypatch.setattr(services.stock, "MAX_BALANCE", MAX_QUANTITY + 5)  # read by the stock module
    with pytest.raises(InvalidQuantity):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=6)
    assert state() == before
    stock.refresh_from_db()
    assert stock.quantity == MAX_QUANTITY
    assert MAX_BALANCE == 10**15


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_adjust_up_and_down_by_the_warehouses_people(world, who):
    actor = getattr(world, who)
    stock = adjust_stock(actor=actor, warehouse=world.wh_a, product=world.product, delta=8, reason="receipt")
    adjust_stock(actor=actor, warehouse=world.wh_a, product=world.product, delta=-3, reason="damage", note="wet")
    stock.refresh_from_db()
    assert stock.quantity == 5 and chain(stock) == [(8, 8), (-3, 5)]
    last = StockMovement.objects.order_by("-id").first()
    assert (last.kind, last.reason, last.note, last.actor) == ("adjust", "damage", "wet", actor)
    assert AuditEvent.objects.filter(action="stock.adjust").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_b", "manager_b", "viewer"])
def test_adjust_is_refused_outside_the_actors_warehouses(world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    before = state()
    with pytest.raises(PermissionDenied):
        adjust_stock(actor=getattr(world, who), warehouse=world.wh_a, product=world.product, delta=1, reason="found")
    assert state() == before


@pytest.mark.django_db
def test_adjust_below_zero_raises_insufficient_stock_and_writes_nothing(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    before = state()
    with pytest.raises(InsufficientStock) as error:
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-5, reason="loss")
    assert error.value.extra == {"available": 4, "requested": 5}
    with pytest.raises(InsufficientStock):
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product2, delta=-1, reason="loss")
    assert state() == before


@pytest.mark.django_db
def test_adjust_refuses_zero_and_unknown_reasons(world):
    with pytest.raises(InvalidQuantity):
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=0, reason="count")
    with pytest.raises(DomainError) as error:
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=1, reason="theft")
    assert error.value.code == "invalid_reason"
    assert state() == ([], 0, 0)


@pytest.mark.django_db
def test_deduct_takes_stock_for_a_request_with_its_reference(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=6)
    [movement] = deduct_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, quantity=4,
                            reference=Reference("purchase_request", 42))
    assert (movement.kind, movement.quantity_change, movement.quantity_after) == ("purchase", -4, 2)
    assert (movement.reference_type, movement.reference_id) == ("purchase_request", 42)
    stock.refresh_from_db()
    assert stock.quantity == 2
    before = state()
    with pytest.raises(InsufficientStock) as error:
        deduct_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, quantity=3,
                     reference=Reference("purchase_request", 43))
    assert error.value.extra == {"available": 2, "requested": 3}
    with pytest.raises(InsufficientStock):
        deduct_stock(actor=world.staff_b, warehouse=world.wh_b, product=world.product, quantity=1,
                     reference=Reference("purchase_request", 44))
    assert state() == before


@pytest.mark.django_db
def test_move_writes_both_rows_and_creates_the_destination(world):
    source = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=9)
    out_row, in_row = move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                 product=world.product, quantity=7, reference=Reference("transfer_request", 5))
    destination = Stock.objects.get(warehouse=world.wh_b, product=world.product)
    source.refresh_from_db()
    assert (source.quantity, destination.quantity) == (2, 7)
    assert (out_row.kind, out_row.quantity_change, out_row.quantity_after) == ("transfer_out", -7, 2)
    assert (in_row.kind, in_row.quantity_change, in_row.quantity_after) == ("transfer_in", 7, 7)
    assert in_row.reference_id == out_row.reference_id == 5


@pytest.mark.django_db
def test_move_is_all_or_nothing(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    before = state()
    with pytest.raises(InsufficientStock):
        move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_b, product=world.product,
                   quantity=4, reference=Reference("transfer_request", 1))
    with pytest.raises(DomainError) as error:
        move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_a, product=world.product,
                   quantity=1, reference=Reference("transfer_request", 1))
    assert error.value.code == "same_warehouse"
    with pytest.raises(InsufficientStock):
        move_stock(actor=world.admin, source=world.wh_b, destination=world.wh_a, product=world.product,
                   quantity=1, reference=Reference("transfer_request", 1))
    assert state() == before


@pytest.mark.django_db
def test_the_database_refuses_a_negative_quantity_even_without_the_service(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(quantity=-1)
    stock.refresh_from_db()
    assert stock.quantity == 1


@pytest.mark.django_db
def test_a_movement_cannot_be_changed_or_deleted_through_the_orm(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    movement = StockMovement.objects.get()
    movement.quantity_change = 5
    with pytest.raises(ValueError):
        movement.save()
    with pytest.raises(ValueError):
        movement.delete()
    assert StockMovement.objects.get().quantity_change == 1


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_b", "manager_b", "viewer"])
def test_deduct_refuses_an_actor_who_does_not_operate_the_warehouse(world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    before = state()
    with pytest.raises(PermissionDenied):
        deduct_stock(actor=getattr(world, who), warehouse=world.wh_a, product=world.product, quantity=1,
                     reference=Reference("purchase_request", 1))
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager_a", "staff_a", "manager_b", "viewer"])
def test_move_refuses_an_actor_who_does_not_operate_both_warehouses(world, who):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    before = state()
    with pytest.raises(PermissionDenied):
        move_stock(actor=getattr(world, who), source=world.wh_a, destination=world.wh_b, product=world.product,
                   quantity=1, reference=Reference("transfer_request", 1))
    assert state() == before


@pytest.mark.django_db
def test_a_manager_of_both_warehouses_may_move_between_them(world):
    world.wh_b.manager = world.manager_a
    world.wh_b.save(update_fields=["manager"])
    assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=world.product, quantity=5)
    move_stock(actor=world.manager_a, source=world.wh_a, destination=world.wh_b, product=world.product,
               quantity=2, reference=Reference("transfer_request", 1))
    assert Stock.objects.get(warehouse=world.wh_b, product=world.product).quantity == 2


@pytest.mark.django_db
def test_a_dismissed_admin_may_change_no_stock(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    world.admin.status = world.admin.Status.DISMISSED
    world.admin.save(update_fields=["status"])
    before = state()
    with pytest.raises(PermissionDenied):
        deduct_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1,
                     reference=Reference("purchase_request", 1))
    with pytest.raises(PermissionDenied):
        move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_b, product=world.product,
                   quantity=1, reference=Reference("transfer_request", 1))
    assert state() == before


@pytest.mark.django_db
def test_the_stock_factory_goes_through_the_one_door():
    from inventory.tests.factories import StockFactory

    stock = StockFactory(quantity=7)
    assert Stock.objects.get(pk=stock.pk).quantity == 7
    assert chain(stock) == [(7, 7)]
    assert StockMovement.objects.get(stock=stock).kind == "assign"
