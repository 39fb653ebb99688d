"""Concurrent token rotation and registration decisions on PostgreSQL: exactly one wins."""


import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import AuditEvent, User
from accounts.tests.factories import UserFactory
from core.testing import outcomes as shaped_outcomes
from core.testing import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



def run_together(work, count):
    return shaped_outcomes(run_threads(count, work, timeout=30))


def test_one_refresh_token_used_concurrently_rotates_exactly_once(world):
    token = str(RefreshToken.for_user(world.staff_a))
    outcomes = run_together(lambda i: services.rotate_refresh_token(token=token)["refresh"], 4)
    assert sorted(kind for kind, _ in outcomes) == ["error", "error", "error", "ok"]
    assert {value for kind, value in outcomes if kind == "error"} == {"token_not_valid"}


def test_concurrent_decisions_on_one_registration_exactly_one_wins(world):
    pending = UserFactory(staff=True, warehouse=world.wh_a, status=User.Status.PENDING)
    actors = [world.admin, world.manager_a, world.admin, world.manager_a]
    decisions = ["approve", "reject", "reject", "approve"]
    outcomes = run_together(
        lambda i: services.decide_registration(actor=actors[i], user=pending, decision=decisions[i]).status, 4)
    winners = [value for kind, value in outcomes if kind == "ok"]
    assert len(winners) == 1
    assert [value for kind, value in outcomes if kind == "error"] == ["not_pending"] * 3
    pending.refresh_from_db()
    assert pending.status == winners[0]
    decided = AuditEvent.objects.filter(target=f"user:{pending.pk}", action__in=["user.approve", "user.reject"])
    assert decided.count() == 1
