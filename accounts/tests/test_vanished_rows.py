"""A row another request deleted (or never existed) is a 404 `not_found` in the services, never a 500.

The tests commit (transaction=True) because the database checks foreign keys at commit: a user saved
with a warehouse that is gone failed there, outside any handler.
"""

import pytest

from accounts import services
from accounts.models import Role, User
from accounts.tests.factories import UserFactory
from core.decisions import Decision
from core.errors import NotFound
from warehouses import staffing
from warehouses.models import Warehouse
from warehouses.tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_PASSWORD = "Str0ng-pass-phrase!"


def vanished_warehouse() -> Warehouse:
    warehouse = WarehouseFactory()
    Warehouse.objects.filter(pk=warehouse.pk).delete()  # a concurrent DELETE won the race
    return warehouse


def test_registering_staff_of_a_warehouse_deleted_meanwhile_is_not_found(world):
    with pytest.raises(NotFound):
        staffing.register_user(username="late", email="late@example.com", password=GOOD_PASSWORD,
                               role=Role.Name.STAFF, warehouse=vanished_warehouse())
    assert not User.objects.filter(username="late").exists()


def test_demoting_into_a_warehouse_deleted_meanwhile_is_not_found(world):
    manager = UserFactory(manager=True)
    with pytest.raises(NotFound):
        staffing.demote_manager(actor=world.admin, user=manager, warehouse=vanished_warehouse(), reason="r")
    assert User.objects.get(pk=manager.pk).role.name == Role.Name.MANAGER


def test_deciding_a_promotion_request_that_does_not_exist_is_not_found(world):
    with pytest.raises(NotFound):
        services.decide_promotion_request(actor=world.admin, promotion_id=987654, decision=Decision.APPROVE)


def test_dismissing_a_user_deleted_meanwhile_is_not_found(world):
    ghost = UserFactory(staff=True, warehouse=world.wh_a)
    User.objects.filter(pk=ghost.pk).delete()
    with pytest.raises(NotFound):
        staffing.dismiss_user(actor=world.admin, user=ghost, reason="gone")
