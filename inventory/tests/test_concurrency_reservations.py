"""Reservations under real threads on PostgreSQL: no over-reservation, no oversell, one winner per hold."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from core.testing import outcomes, run_threads
from inventory.models import Reservation, Stock
from inventory.services import (
    assign_stock,
    expire_due_reservations,
    fulfil_reservation,
    release_reservation,
    reserve_stock,
)
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches
from workflows.models import PurchaseRequest
from workflows.services import create_purchase_request, decide_purchase_request


def assert_buckets_equal_their_sources(stock: Stock):
    stock.refresh_from_db()
    held = Reservation.objects.filter(stock=stock, status="active").aggregate(total=Sum("quantity"))["total"] or 0
    assert 0 <= stock.reserved == held <= stock.quantity
    assert stock.incoming == 0
    assert ledger_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_reservations_of_one_from_ten_available_exactly_ten_succeed(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    actors = [world.admin, world.manager_a, world.staff_a]

    def work(index):
        return reserve_stock(actor=actors[index % 3], warehouse=world.wh_a, product=world.product, quantity=1,
                             reference=f"SO-{index}").pk

    shaped = outcomes(run_threads(40, work))
    assert sum(kind == "ok" for kind, _ in shaped) == 10
    assert [value for kind, value in shaped if kind == "error"] == ["insufficient_stock"] * 30
    stock.refresh_from_db()
    assert (stock.quantity, stock.reserved) == (10, 10)
    assert Reservation.objects.filter(status="active").count() == 10
    assert_buckets_equal_their_sources(stock)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_purchase_approvals_take_only_the_ten_unreserved_units(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=20)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    requests = [create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product, quantity=1)
                for _ in range(20)]
    deciders = [world.admin, world.manager_a, world.staff_a]

    def work(index):
        return decide_purchase_request(actor=deciders[index % 3], request_id=requests[index].pk,
                                       decision="approve").status

    shaped = outcomes(run_threads(20, work))
    assert sorted(shaped) == [("error", "insufficient_stock")] * 10 + [("ok", "approved")] * 10
    assert PurchaseRequest.objects.filter(status="approved").count() == 10
    assert PurchaseRequest.objects.filter(status="pending").count() == 10
    stock.refresh_from_db()
    assert (stock.quantity, stock.reserved) == (10, 10)
    assert_buckets_equal_their_sources(stock)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(6))
def test_concurrent_fulfil_release_and_expiry_of_one_reservation_exactly_one_wins(world, round_):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    hold = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4,
                         expires_at=timezone.now() + timedelta(minutes=10))
    # The worker runs as if the hold were due; the user actions run now, while it is still active.
    worker_now = hold.expires_at + timedelta(seconds=1)

    def work(index):
        if index == 0:
            return "fulfilled" if fulfil_reservation(actor=world.staff_a, reservation_id=hold.pk) else None
        if index == 1:
            return "released" if release_reservation(actor=world.manager_a, reservation_id=hold.pk) else None
        return "expired" if expire_due_reservations(now=worker_now) == 1 else "skipped"

    results = outcomes(run_threads(3, work))
    wins = [value for kind, value in results if kind == "ok" and value != "skipped"]
    assert len(wins) == 1, results
    assert all(value == "not_active" for kind, value in results if kind == "error"), results
    hold.refresh_from_db()
    assert hold.status == wins[0]
    stock.refresh_from_db()
    assert stock.reserved == 0
    assert stock.quantity == (6 if hold.status == "fulfilled" else 10)
    assert_buckets_equal_their_sources(stock)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_with_expiry_leave_exactly_one_waiting_expiry_run(world):
    from django_tasks_db.models import DBTaskResult

    from inventory.services.reservations import EXPIRY_TASK_PATH

    # One product each: the stock row locks do not serialize them, only the scheduling lock does.
    products = ProductFactory.create_batch(12)
    for product in products:
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1)
    base = timezone.now() + timedelta(hours=1)

    def work(index):
        return reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=products[index], quantity=1,
                             expires_at=base + timedelta(minutes=(index * 7) % 12)).expires_at

    results = run_threads(12, work)
    assert [kind for kind, _ in outcomes(results)] == ["ok"] * 12
    waiting = DBTaskResult.objects.filter(task_path=EXPIRY_TASK_PATH, status="READY")
    assert list(waiting.values_list("run_after", flat=True)) == [min(results)]
