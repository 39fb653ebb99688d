"""Concurrent token rotation and registration decisions on PostgreSQL: exactly one wins."""

import threading

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import AuditEvent, Role, User
from accounts.roles import ensure_roles
from accounts.tests.factories import UserFactory
from inventory_project.api.errors import DomainError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    """Transactional tests flush the tables between tests, including the roles the migration seeded."""
    ensure_roles(Role)


def run_together(work, count):
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def target(index):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = ("ok", work(index))
        except DomainError as exc:
            outcomes[index] = ("error", exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


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
