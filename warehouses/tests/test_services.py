"""Warehouse services on the real database, including the race paths the serializer cannot see."""

import pytest

from accounts.models import AuditEvent
from core.errors import PermissionDenied
from warehouses.errors import DuplicateWarehouseCode, WarehouseInUse
from warehouses.models import Warehouse
from warehouses.services import create_warehouse, delete_warehouse, update_warehouse, warehouse_in_use
from warehouses.tests.factories import WarehouseFactory


@pytest.mark.django_db
def test_create_warehouse_refuses_a_code_taken_in_another_case(world):
    with pytest.raises(DuplicateWarehouseCode):
        create_warehouse(actor=world.admin, code="a", name="Twin")
    assert Warehouse.objects.count() == 2
    assert not AuditEvent.objects.filter(action="warehouse.create").exists()


@pytest.mark.django_db
def test_update_warehouse_refuses_a_taken_code_and_keeps_the_row(world):
    with pytest.raises(DuplicateWarehouseCode):
        update_warehouse(actor=world.admin, warehouse=world.wh_a, code="B")
    world.wh_a.refresh_from_db()
    assert world.wh_a.code == "A"


@pytest.mark.django_db
def test_a_warehouse_is_in_use_when_anything_refers_to_it(world):
    assert warehouse_in_use(world.wh_a)  # it has staff
    assert not warehouse_in_use(WarehouseFactory())


@pytest.mark.django_db
def test_delete_warehouse_refuses_a_used_warehouse(world):
    with pytest.raises(WarehouseInUse):
        delete_warehouse(actor=world.admin, warehouse=world.wh_a)
    assert Warehouse.objects.filter(pk=world.wh_a.pk).exists()
    assert not AuditEvent.objects.filter(action="warehouse.delete").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager_a", "staff_a", "viewer"])
def test_only_admins_may_create_change_or_delete_warehouses_even_without_the_view(world, who):
    actor = getattr(world, who)
    empty = WarehouseFactory(code="EMPTY")
    with pytest.raises(PermissionDenied):
        create_warehouse(actor=actor, code="Z", name="Zulu")
    with pytest.raises(PermissionDenied):
        update_warehouse(actor=actor, warehouse=world.wh_a, name="Renamed")
    with pytest.raises(PermissionDenied):
        delete_warehouse(actor=actor, warehouse=empty)
    assert sorted(Warehouse.objects.values_list("code", "name")) == [("A", "Alpha"), ("B", "Beta"),
                                                                     ("EMPTY", empty.name)]
    assert not AuditEvent.objects.filter(action__startswith="warehouse.").exists()


@pytest.mark.django_db
def test_a_dismissed_admin_may_not_create_a_warehouse(world):
    world.admin.status = world.admin.Status.DISMISSED
    world.admin.save(update_fields=["status"])
    with pytest.raises(PermissionDenied):
        create_warehouse(actor=world.admin, code="Z", name="Zulu")
    assert not Warehouse.objects.filter(code="Z").exists()
