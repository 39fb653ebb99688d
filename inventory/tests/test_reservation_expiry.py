"""Reservation expiry on the task worker: one self-rescheduling task, at most one waiting instance (SPEC §10)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from inventory.models import Reservation, Stock
from inventory.services import adjust_stock, assign_stock, reserve_stock
from inventory.services.reservations import (
    EXPIRY_INTERVAL,
    EXPIRY_TASK_PATH,
    ensure_expiry_scheduled,
    expire_reservations,
)
from inventory.tests.worker import run_worker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def queued():
    """run_after of every READY expiry task, earliest first."""
    return list(DBTaskResult.objects.filter(task_path=EXPIRY_TASK_PATH, status="READY")
                .order_by("run_after").values_list("run_after", flat=True))


def reserve(world, quantity=1, **kwargs):
    return reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=quantity, **kwargs)


@pytest.fixture
def stocked(world):
    with time_machine.travel(T0, tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    return world


@pytest.mark.django_db
def test_a_reservation_with_expires_at_schedules_one_expiry_run_at_that_time(stocked):
    with time_machine.travel(T0, tick=False):
        reserve(stocked)  # held until released: nothing to schedule
        assert queued() == []
        reserve(stocked, expires_at=T0 + timedelta(hours=2))
        assert queued() == [T0 + timedelta(hours=2)]
        reserve(stocked, expires_at=T0 + timedelta(hours=3))  # a run at 2 h will see it: no second run
        assert queued() == [T0 + timedelta(hours=2)]
        reserve(stocked, expires_at=T0 + timedelta(hours=1))  # sooner: the waiting run moves, none is added
        assert queued() == [T0 + timedelta(hours=1)]


@pytest.mark.django_db
def test_ensure_expiry_scheduled_never_adds_a_second_waiting_run(db):
    with time_machine.travel(T0, tick=False):
        assert ensure_expiry_scheduled(T0 + timedelta(minutes=5)) is True
        assert ensure_expiry_scheduled(T0 + timedelta(minutes=5)) is False
        assert ensure_expiry_scheduled(T0 + timedelta(minutes=9)) is False
        assert queued() == [T0 + timedelta(minutes=5)]


@pytest.mark.django_db
def test_the_task_expires_due_reservations_and_reschedules_itself_exactly_once(stocked):
    with time_machine.travel(T0, tick=False):
        due = [reserve(stocked, expires_at=T0 + timedelta(minutes=m)) for m in (1, 2)]
        later = reserve(stocked, expires_at=T0 + timedelta(hours=5))
        forever = reserve(stocked)
    DBTaskResult.objects.all().delete()  # as if the worker had picked the queued run up
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert expire_reservations.call() == 2
        assert queued() == [T0 + timedelta(hours=5)]
    statuses = {r.pk: r.status for r in Reservation.objects.all()}
    assert [statuses[r.pk] for r in (*due, later, forever)] == ["expired", "expired", "active", "active"]
    assert Stock.objects.get().reserved == 2


@pytest.mark.django_db
def test_the_next_run_is_at_least_a_minute_away(stocked):
    with time_machine.travel(T0, tick=False):
        reserve(stocked, expires_at=T0 + timedelta(seconds=10))
    DBTaskResult.objects.all().delete()
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        assert expire_reservations.call() == 0
        assert queued() == [T0 + timedelta(seconds=5) + EXPIRY_INTERVAL]


@pytest.mark.django_db
def test_the_chain_ends_when_no_active_reservation_expires(stocked):
    with time_machine.travel(T0, tick=False):
        reserve(stocked, expires_at=T0 + timedelta(minutes=1))
        reserve(stocked)
    DBTaskResult.objects.all().delete()
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        assert expire_reservations.call() == 1
    assert queued() == []


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_expires_a_due_reservation(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    hold = reserve(world, quantity=4, expires_at=timezone.now() + timedelta(minutes=10))
    run_worker()  # not due yet
    assert Reservation.objects.get().status == "active" and len(queued()) == 1
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    DBTaskResult.objects.filter(task_path=EXPIRY_TASK_PATH).update(run_after=timezone.now() - timedelta(seconds=1))

    run_worker()

    assert Reservation.objects.get().status == "expired"
    assert Stock.objects.get().reserved == 0
    assert DBTaskResult.objects.get(task_path=EXPIRY_TASK_PATH).status == "SUCCESSFUL"
    assert queued() == []  # nothing left that expires: the chain ends


@pytest.mark.django_db
def test_an_expired_hold_never_blocks_a_sale_with_no_worker(stocked):
    with time_machine.travel(T0, tick=False):
        reserve(stocked, quantity=10, expires_at=T0 + timedelta(minutes=30))
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        adjust_stock(actor=stocked.staff_a, warehouse=stocked.wh_a, product=stocked.product, delta=-10,
                     reason="loss")
    assert Reservation.objects.get().status == "expired"
    assert (Stock.objects.get().quantity, Stock.objects.get().reserved) == (0, 0)
