"""Exactly once under real threads on PostgreSQL: racing actions on one row announce one change.

Every transaction here commits or is refused before it emits (a refused action emits nothing), so each
recorded event is a committed change.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.testing import outcomes, run_threads
from core.tests.recording import recording
from inventory.events import ReservationChanged
from inventory.models import Reservation
from inventory.services import (
    adjust_stock,
    assign_stock,
    expire_due_reservations,
    fulfil_reservation,
    release_reservation,
    reserve_stock,
)
from workflows.events import PurchaseRequestChanged
from workflows.services import create_purchase_request, decide_purchase_request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_workers_and_operations_locking_the_row_expire_and_announce_each_due_hold_once(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=20)
    holds = [reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=2,
                           expires_at=timezone.now() + timedelta(minutes=10)).pk for _ in range(5)]
    Reservation.objects.filter(pk__in=holds).update(expires_at=timezone.now() - timedelta(seconds=1))

    def work(index):
        if index % 2:
            return expire_due_reservations()
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=1, reason="found")
        return "adjusted"

    with recording(ReservationChanged) as seen:
        results = outcomes(run_threads(6, work))
    assert all(kind == "ok" for kind, _ in results), results
    assert sorted(s.subject.pk for s in seen) == sorted(holds)
    assert {(s.action, s.row["status"]) for s in seen} == {("expired", "expired")}
    assert set(Reservation.objects.values_list("status", flat=True)) == {"expired"}


@pytest.mark.parametrize("round_", range(3))
def test_fulfil_release_and_expiry_racing_on_one_hold_announce_only_the_winner(world, round_):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    hold = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4,
                         expires_at=timezone.now() + timedelta(minutes=10))
    worker_now = hold.expires_at + timedelta(seconds=1)  # the worker sees it due, the users do not

    def work(index):
        if index == 0:
            return fulfil_reservation(actor=world.staff_a, reservation_id=hold.pk).status
        if index == 1:
            return release_reservation(actor=world.manager_a, reservation_id=hold.pk).status
        return "expired" if expire_due_reservations(now=worker_now) else "skipped"

    with recording(ReservationChanged) as seen:
        results = outcomes(run_threads(3, work))
    wins = [value for kind, value in results if kind == "ok" and value != "skipped"]
    assert len(wins) == 1, results
    hold.refresh_from_db()
    assert [(s.subject.pk, s.row["status"]) for s in seen] == [(hold.pk, hold.status)]
    assert seen[0].action == {"fulfilled": "fulfilled", "released": "released", "expired": "expired"}[hold.status]


def test_eight_deciders_of_one_purchase_request_announce_one_decision(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    purchase = create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product, quantity=1)
    deciders = [world.admin, world.manager_a, world.staff_a]

    def work(index):
        return decide_purchase_request(actor=deciders[index % 3], request_id=purchase.pk,
                                       decision="approve" if index % 2 else "reject").status

    with recording(PurchaseRequestChanged) as seen:
        results = outcomes(run_threads(8, work))
    assert sorted(kind for kind, _ in results) == ["error"] * 7 + ["ok"]
    assert {value for kind, value in results if kind == "error"} == {"not_pending"}
    purchase.refresh_from_db()
    assert seen.summary() == [("PurchaseRequestChanged", "decided", purchase.pk, purchase.status)]
