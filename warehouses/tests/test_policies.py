"""The warehouse scope predicates, one warehouse at a time, agree with the queryset scopes."""

import pytest

from warehouses import policies
from warehouses.models import Warehouse

WHO = ["admin", "manager_a", "manager_b", "staff_a", "staff_b", "viewer"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO)
def test_can_operate_and_can_manage_agree_with_the_querysets(world, who):
    user = getattr(world, who)
    for warehouse in (world.wh_a, world.wh_b):
        assert policies.can_operate(user, warehouse) == Warehouse.objects.operated_by(user).filter(
            pk=warehouse.pk).exists()
        assert policies.can_manage(user, warehouse) == Warehouse.objects.managed_by(user).filter(
            pk=warehouse.pk).exists()


@pytest.mark.django_db
def test_who_operates_and_manages_warehouse_a(world):
    operators = {who for who in WHO if policies.can_operate(getattr(world, who), world.wh_a)}
    managers = {who for who in WHO if policies.can_manage(getattr(world, who), world.wh_a)}
    assert operators == {"admin", "manager_a", "staff_a"}
    assert managers == {"admin", "manager_a"}
    assert {who for who in WHO if policies.can_edit_warehouses(getattr(world, who))} == {"admin"}


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO)
def test_an_inactive_user_operates_nothing(world, who):
    user = getattr(world, who)
    user.status = user.Status.DISMISSED
    user.save(update_fields=["status"])
    assert not policies.can_operate(user, world.wh_a)
    assert not policies.can_edit_warehouses(user)
    assert not Warehouse.objects.operated_by(user).exists()
    assert not Warehouse.objects.for_user(user).exists()
