"""Concurrent promotion requests and decisions on PostgreSQL: exactly one wins."""


import pytest

from accounts.models import ManagerPromotionRequest, Role, User
from accounts.services import decide_promotion_request, request_staff_promotion
from core.testing import outcomes as shaped_outcomes
from core.testing import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



def run_together(work, count):
    return shaped_outcomes(run_threads(count, work, timeout=30))


def test_concurrent_promotion_requests_for_one_user_create_exactly_one(world):
    actors = [world.admin, world.manager_a, world.admin, world.manager_a]
    outcomes = run_together(
        lambda i: request_staff_promotion(actor=actors[i], user=world.staff_a, reason=f"r{i}").pk, len(actors))
    assert sorted(kind for kind, _ in outcomes) == ["error", "error", "error", "ok"]
    assert {value for kind, value in outcomes if kind == "error"} == {"already_pending"}
    assert ManagerPromotionRequest.objects.filter(user=world.staff_a).count() == 1


def test_concurrent_decisions_on_one_promotion_exactly_one_wins(world):
    promotion = request_staff_promotion(actor=world.manager_a, user=world.staff_a, reason="x")
    decisions = ["approve", "reject", "approve", "reject"]
    outcomes = run_together(
        lambda i: decide_promotion_request(actor=world.admin, promotion_id=promotion.pk, decision=decisions[i]).status,
        len(decisions))
    winners = [value for kind, value in outcomes if kind == "ok"]
    assert len(winners) == 1
    assert [value for kind, value in outcomes if kind == "error"] == ["not_pending"] * 3
    promotion.refresh_from_db()
    assert promotion.status == winners[0]
    expected_role = Role.Name.MANAGER if winners[0] == "approved" else Role.Name.STAFF
    assert User.objects.get(pk=world.staff_a.pk).role.name == expected_role
