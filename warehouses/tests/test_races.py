"""Races on warehouse writes: a row deleted under the request, a manager dismissed or demoted meanwhile."""

import pytest

from accounts.models import Role, User
from accounts.roles import is_manager
from accounts.tests.factories import UserFactory
from core.errors import NotEligible, NotFound
from core.testing import outcomes, run_threads
from warehouses import staffing
from warehouses.models import Warehouse
from warehouses.services import create_warehouse, delete_warehouse, update_warehouse
from warehouses.tests.factories import WarehouseFactory

TRIALS = 6


@pytest.mark.django_db
def test_update_of_a_warehouse_deleted_meanwhile_is_not_found(world):
    stale = WarehouseFactory()
    Warehouse.objects.filter(pk=stale.pk).delete()  # a concurrent DELETE won
    with pytest.raises(NotFound):
        update_warehouse(actor=world.admin, warehouse=stale, address="")


@pytest.mark.django_db
def test_delete_of_a_warehouse_deleted_meanwhile_is_not_found(world):
    stale = WarehouseFactory()
    Warehouse.objects.filter(pk=stale.pk).delete()
    with pytest.raises(NotFound):
        delete_warehouse(actor=world.admin, warehouse=stale)


@pytest.mark.django_db
def test_a_manager_dismissed_after_validation_is_refused_under_the_lock(world):
    manager = UserFactory(manager=True)
    User.objects.filter(pk=manager.pk).update(status=User.Status.DISMISSED)  # after the serializer's check
    with pytest.raises(NotEligible):
        update_warehouse(actor=world.admin, warehouse=world.wh_b, manager=manager)
    with pytest.raises(NotEligible):
        create_warehouse(actor=world.admin, code="NEW", name="New", manager=manager)
    assert Warehouse.objects.get(pk=world.wh_b.pk).manager_id == world.manager_b.pk


@pytest.mark.django_db
def test_patch_with_a_manager_who_is_staff_now_answers_400(make_client, world):
    response = make_client(world.admin).patch(f"/api/warehouses/{world.wh_b.pk}/", {"manager": world.staff_a.pk},
                                              format="json")
    assert response.status_code == 400
    assert "manager" in response.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["dismiss", "demote"])
def test_assigning_a_manager_while_they_are_dismissed_or_demoted_never_leaves_them_in_charge(world, change):
    for trial in range(TRIALS):
        manager = UserFactory(manager=True, username=f"mgr_{change}_{trial}", warehouse=world.wh_a)

        def work(index, manager=manager):
            if index == 0:
                return update_warehouse(actor=world.admin, warehouse=world.wh_b, manager=manager).manager_id
            if change == "dismiss":
                return staffing.dismiss_user(actor=world.admin, user=manager, reason="race").status
            return staffing.demote_manager(actor=world.admin, user=manager, reason="race").role.name

        shaped = outcomes(run_threads(2, work, timeout=30))
        assert shaped[1] in {("ok", User.Status.DISMISSED), ("ok", Role.Name.STAFF)}
        assert shaped[0] in {("ok", manager.pk), ("error", "not_eligible")}
        warehouse = Warehouse.objects.select_related("manager__role").get(pk=world.wh_b.pk)
        assert warehouse.manager is None or is_manager(warehouse.manager), (trial, shaped)
        Warehouse.objects.filter(pk=world.wh_b.pk).update(manager=world.manager_b)
