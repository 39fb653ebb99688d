"""Concurrent role and status changes of one user on PostgreSQL: domain errors only, a consistent end state.

Regression: the user rows were locked with `select_for_update(of=("self",))` joined to their role
and warehouse; when a concurrent transaction changed the row, PostgreSQL re-checked the join and
dropped it, so the service crashed (DoesNotExist → 500, or KeyError in lock_users).
"""

import pytest

from accounts import services
from accounts.models import ManagerPromotionRequest, Role, User
from accounts.tests.factories import UserFactory
from core.testing import outcomes, run_threads
from warehouses import staffing
from warehouses.models import Warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 6


def test_dismiss_and_demote_of_one_manager_at_once_end_consistently(world):
    for trial in range(TRIALS):
        manager = UserFactory(manager=True, username=f"racing_manager{trial}", warehouse=world.wh_b)
        Warehouse.objects.filter(pk=world.wh_a.pk).update(manager=manager)

        def work(index, manager=manager):
            if index == 0:
                return staffing.dismiss_user(actor=world.admin, user=manager, reason="race").status
            return staffing.demote_manager(actor=world.admin, user=manager, reason="race").role.name

        shaped = outcomes(run_threads(2, work, timeout=30))
        manager.refresh_from_db()
        assert ("ok", User.Status.DISMISSED) in shaped or ("ok", Role.Name.STAFF) in shaped
        assert all(value in {"not_eligible", "not_active"} for kind, value in shaped if kind == "error")
        assert manager.status == User.Status.DISMISSED or manager.role.name == Role.Name.STAFF
        assert Warehouse.objects.get(pk=world.wh_a.pk).manager_id is None


def test_three_simultaneous_demotes_of_one_manager_one_wins(world):
    for trial in range(TRIALS):
        manager = UserFactory(manager=True, username=f"demoted{trial}", warehouse=world.wh_b)
        shaped = outcomes(run_threads(
            3, lambda i, manager=manager: staffing.demote_manager(actor=world.admin, user=manager, reason="r").pk,
            timeout=30))
        assert sorted(kind for kind, _ in shaped) == ["error", "error", "ok"]
        assert {value for kind, value in shaped if kind == "error"} == {"not_eligible"}
        assert User.objects.get(pk=manager.pk).role.name == Role.Name.STAFF


def test_profile_patch_during_a_promotion_approval_keeps_both_changes(world):
    for trial in range(TRIALS):
        staff = UserFactory(staff=True, username=f"promoted{trial}", warehouse=world.wh_a)
        promotion = ManagerPromotionRequest.objects.create(user=staff, requested_by=world.manager_a, reason="x")

        def work(index, staff=staff, promotion=promotion, trial=trial):
            if index == 0:
                return services.decide_promotion_request(actor=world.admin, promotion_id=promotion.pk,
                                                         decision="approve").status
            return services.update_profile(user=staff, data={"first_name": f"Renamed{trial}"}).first_name

        assert outcomes(run_threads(2, work, timeout=30)) == [("ok", "approved"), ("ok", f"Renamed{trial}")]
        staff.refresh_from_db()
        assert (staff.role.name, staff.first_name) == (Role.Name.MANAGER, f"Renamed{trial}")
