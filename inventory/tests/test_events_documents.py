"""Reservations and low-stock alerts announce each change once, in its transaction, after the row is saved.

`ReservationChanged` (created, released, fulfilled, expired: by the worker and by any operation that locks
the row) and `AlertChanged` (opened, resolved: by a stock change, one or a batch, and by a threshold set,
changed or deleted). A refused operation announces nothing, and with no subscriber an emit costs no query.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.errors import NotFound, PermissionDenied
from core.tests.recording import recording
from inventory.errors import InsufficientStock, InvalidQuantity, ReservationNotActive
from inventory.events import AlertChanged, ReservationChanged, StockChanged
from inventory.models import LowStockAlert, LowStockThreshold, Reservation, StockMovement
from inventory.services import (
    StockChange,
    adjust_stock,
    apply_stock_changes,
    assign_stock,
    delete_threshold,
    fulfil_reservation,
    release_reservation,
    reserve_stock,
    set_threshold,
    update_threshold,
)
from inventory.services.reservations import EXPIRY_TASK_PATH, expire_reservations
from inventory.tests.worker import run_worker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def seen():
    with recording(ReservationChanged, AlertChanged) as recorded:
        yield recorded


@pytest.fixture
def stocked(world):
    with time_machine.travel(T0, tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    return world


def reserve(world, quantity=3, **kwargs):
    return reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, quantity=quantity,
                         **kwargs)


def adjust(world, delta, product=None, actor=None):
    return adjust_stock(actor=actor or world.admin, warehouse=world.wh_a, product=product or world.product,
                        delta=delta, reason="loss" if delta < 0 else "found")


# --- reservations ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_each_reservation_action_is_announced_once_with_the_saved_row(stocked, seen):
    first, second = reserve(stocked), reserve(stocked, quantity=2)
    release_reservation(actor=stocked.manager_a, reservation_id=first.pk)
    fulfil_reservation(actor=stocked.staff_a, reservation_id=second.pk, quantity=1)
    assert seen.summary() == [
        ("ReservationChanged", "created", first.pk, "active"),
        ("ReservationChanged", "created", second.pk, "active"),
        ("ReservationChanged", "released", first.pk, "released"),
        ("ReservationChanged", "fulfilled", second.pk, "fulfilled"),
    ]
    assert all(s.in_transaction for s in seen)
    assert seen[3].row["fulfilled_quantity"] == 1 and seen[3].subject.fulfilled_quantity == 1


@pytest.mark.django_db
def test_a_reservation_action_is_announced_inside_its_stock_operation_before_the_doors_event(stocked):
    with recording(ReservationChanged, StockChanged) as ordered:
        held = reserve(stocked)
        release_reservation(actor=stocked.staff_a, reservation_id=held.pk)
    assert [(s.kind, s.action) for s in ordered] == [("ReservationChanged", "created"), ("StockChanged", None),
                                                     ("ReservationChanged", "released"), ("StockChanged", None)]


@pytest.mark.django_db
def test_refused_reservation_actions_announce_nothing(stocked, seen):
    with pytest.raises(InsufficientStock):
        reserve(stocked, quantity=11)
    with pytest.raises(PermissionDenied):
        reserve_stock(actor=stocked.staff_b, warehouse=stocked.wh_a, product=stocked.product, quantity=1)
    held = reserve(stocked)
    seen.clear()
    with pytest.raises(NotFound):  # out of scope
        release_reservation(actor=stocked.staff_b, reservation_id=held.pk)
    with pytest.raises(InvalidQuantity):
        fulfil_reservation(actor=stocked.staff_a, reservation_id=held.pk, quantity=4)
    release_reservation(actor=stocked.staff_a, reservation_id=held.pk)
    with pytest.raises(ReservationNotActive):
        release_reservation(actor=stocked.staff_a, reservation_id=held.pk)
    with pytest.raises(ReservationNotActive):
        fulfil_reservation(actor=stocked.staff_a, reservation_id=held.pk)
    assert seen.summary() == [("ReservationChanged", "released", held.pk, "released")]


@pytest.mark.django_db
def test_a_reservation_over_http_is_announced_once(stocked, seen, make_client):
    client = make_client(stocked.staff_a)
    response = client.post("/api/reservations/", {"warehouse": stocked.wh_a.pk, "product": stocked.product.pk,
                                                  "quantity": 3}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert client.post(f"/api/reservations/{pk}/release/", {}, format="json").status_code == 200
    assert client.post(f"/api/reservations/{pk}/release/", {}, format="json").status_code == 409
    assert make_client(stocked.viewer).post("/api/reservations/", {
        "warehouse": stocked.wh_a.pk, "product": stocked.product.pk, "quantity": 1}, format="json").status_code == 403
    assert seen.summary() == [("ReservationChanged", "created", pk, "active"),
                              ("ReservationChanged", "released", pk, "released")]


@pytest.mark.django_db
def test_the_expiry_task_announces_each_due_reservation_once(stocked, seen):
    with time_machine.travel(T0, tick=False):
        due = [reserve(stocked, quantity=1, expires_at=T0 + timedelta(minutes=m)) for m in (1, 2)]
        later = reserve(stocked, quantity=1, expires_at=T0 + timedelta(hours=5))
    seen.clear()
    DBTaskResult.objects.all().delete()
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert expire_reservations.call() == 2
        assert expire_reservations.call() == 0  # nothing due any more: nothing announced again
    assert seen.summary() == [("ReservationChanged", "expired", r.pk, "expired") for r in due]
    assert all(s.in_transaction for s in seen)
    assert Reservation.objects.get(pk=later.pk).status == "active"


@pytest.mark.django_db
def test_an_operation_locking_the_row_announces_the_expiry_before_its_own_change(stocked, seen):
    with time_machine.travel(T0, tick=False):
        held = reserve(stocked, quantity=10, expires_at=T0 + timedelta(minutes=30))
    seen.clear()
    with (time_machine.travel(T0 + timedelta(minutes=31), tick=False),
          recording(ReservationChanged, StockChanged) as ordered):
        adjust(stocked, -10, actor=stocked.staff_a)  # the expired hold does not block the sale
    assert seen.summary() == [("ReservationChanged", "expired", held.pk, "expired")]
    # The door's one event comes at the end of the operation, after the expiry it did on the way.
    assert [s.kind for s in ordered] == ["ReservationChanged", "StockChanged"]
    (row,) = ordered[1].event.rows
    assert (row.reserved_before, row.stock.reserved, row.quantity_before, row.stock.quantity) == (10, 0, 10, 0)


@pytest.mark.django_db
def test_every_kind_of_lock_expires_and_announces_each_due_hold_once(stocked, seen):
    with time_machine.travel(T0, tick=False):
        a = reserve(stocked, quantity=2, expires_at=T0 + timedelta(minutes=5))
        b = reserve(stocked, quantity=2, expires_at=T0 + timedelta(minutes=5))
        kept = reserve(stocked, quantity=2)
    seen.clear()
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        fresh = reserve(stocked, quantity=7)  # 10 on hand, only `kept` still holds units
        apply_stock_changes(actor=stocked.admin, changes=[StockChange(stocked.product.pk, stocked.wh_a.pk, delta=1)],
                            kind=StockMovement.Kind.ADJUST, reason="found")  # nothing due any more
        release_reservation(actor=stocked.admin, reservation_id=kept.pk)
    assert seen.summary() == [
        ("ReservationChanged", "expired", a.pk, "expired"),
        ("ReservationChanged", "expired", b.pk, "expired"),
        ("ReservationChanged", "created", fresh.pk, "active"),
        ("ReservationChanged", "released", kept.pk, "released"),
    ]


@pytest.mark.django_db
def test_a_lock_that_is_refused_after_expiring_announces_in_the_rolled_back_transaction_only(stocked, seen):
    """The expiry and its event belong to the refused operation's transaction: both roll back together."""
    with time_machine.travel(T0, tick=False):
        held = reserve(stocked, quantity=4, expires_at=T0 + timedelta(minutes=5))
    seen.clear()
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False), pytest.raises(InsufficientStock):
        reserve(stocked, quantity=11)
    assert [s.action for s in seen] == ["expired"]  # announced inside the transaction, then rolled back
    assert Reservation.objects.get(pk=held.pk).status == "active"  # the worker or the next lock expires it


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_announces_the_expiry(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    held = reserve(world, quantity=4, expires_at=timezone.now() + timedelta(minutes=10))
    Reservation.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    DBTaskResult.objects.filter(task_path=EXPIRY_TASK_PATH).update(run_after=timezone.now() - timedelta(seconds=1))
    with recording(ReservationChanged) as seen:
        run_worker()
    assert seen.summary() == [("ReservationChanged", "expired", held.pk, "expired")]
    assert seen[0].in_transaction


# --- alerts ----------------------------------------------------------------------------------------

@pytest.fixture
def watched(stocked):
    """10 bolts in A with a threshold of 5."""
    set_threshold(actor=stocked.admin, warehouse=stocked.wh_a, product=stocked.product, threshold=5)
    return stocked


@pytest.mark.django_db
def test_a_stock_change_opens_and_resolves_the_alert_once_each(watched, seen):
    adjust(watched, -6)  # 4 < 5: opens
    adjust(watched, -1)  # still low: nothing
    adjust(watched, 2)  # 5: resolves
    adjust(watched, 1)  # still fine: nothing
    alert = LowStockAlert.objects.get()
    assert seen.summary() == [("AlertChanged", "opened", alert.pk, "open"),
                              ("AlertChanged", "resolved", alert.pk, "resolved")]
    assert seen[0].subject.quantity_at_trigger == 4
    resolved = seen[1].subject
    assert (resolved.status, resolved.resolved_at) == ("resolved", alert.resolved_at)
    # The resolved row was announced without reading it back; its other fields load from the row.
    assert "threshold" in resolved.get_deferred_fields()
    assert (resolved.threshold, resolved.quantity_at_trigger, resolved.created_at) == (
        5, 4, alert.created_at)


@pytest.mark.django_db
def test_thresholds_open_and_resolve_alerts_once_each(stocked, seen):
    row = set_threshold(actor=stocked.admin, warehouse=stocked.wh_a, product=stocked.product, threshold=12)
    first = LowStockAlert.objects.get()
    update_threshold(actor=stocked.admin, row=row, threshold=10)  # 10 is not below 10: resolves
    update_threshold(actor=stocked.admin, row=row, threshold=11)  # low again: a new alert
    second = LowStockAlert.objects.get(status="open")
    update_threshold(actor=stocked.admin, row=row, threshold=15)  # still low: nothing
    delete_threshold(actor=stocked.admin, row=LowStockThreshold.objects.get())  # no threshold: resolves
    assert seen.summary() == [
        ("AlertChanged", "opened", first.pk, "open"),
        ("AlertChanged", "resolved", first.pk, "resolved"),
        ("AlertChanged", "opened", second.pk, "open"),
        ("AlertChanged", "resolved", second.pk, "resolved"),
    ]
    assert seen[3].subject.threshold == 11  # loaded from the row when read


@pytest.mark.django_db
def test_a_batch_opens_and_resolves_the_alerts_of_its_rows_once_each(watched, seen):
    assign_stock(actor=watched.admin, warehouse=watched.wh_a, product=watched.product2, quantity=1)
    set_threshold(actor=watched.admin, warehouse=watched.wh_a, product=watched.product2, threshold=3)
    nut_alert = LowStockAlert.objects.get()
    seen.clear()
    apply_stock_changes(actor=watched.admin, kind=StockMovement.Kind.ADJUST, reason="count", changes=[
        StockChange(watched.product.pk, watched.wh_a.pk, delta=-8),  # bolts 2 < 5: opens
        StockChange(watched.product2.pk, watched.wh_a.pk, delta=5),  # nuts 6: resolves
    ])
    bolt_alert = LowStockAlert.objects.get(product=watched.product)
    assert sorted(seen.summary()) == sorted([("AlertChanged", "opened", bolt_alert.pk, "open"),
                                             ("AlertChanged", "resolved", nut_alert.pk, "resolved")])


@pytest.mark.django_db
def test_refused_stock_and_threshold_changes_announce_nothing(watched, seen, make_client):
    with pytest.raises(InsufficientStock):
        adjust(watched, -11)
    with pytest.raises(PermissionDenied):
        adjust(watched, -8, actor=watched.staff_b)
    response = make_client(watched.staff_a).patch(
        f"/api/low-stock-thresholds/{LowStockThreshold.objects.get().pk}/", {"threshold": 50}, format="json")
    assert response.status_code == 403
    assert seen == [] and not LowStockAlert.objects.exists()


@pytest.mark.django_db
def test_a_threshold_change_over_http_resolves_the_alert_once(watched, seen, make_client):
    adjust(watched, -6)
    seen.clear()
    threshold = LowStockThreshold.objects.get()
    response = make_client(watched.manager_a).patch(f"/api/low-stock-thresholds/{threshold.pk}/", {"threshold": 2},
                                                    format="json")
    assert response.status_code == 200, response.content
    assert seen.summary() == [("AlertChanged", "resolved", LowStockAlert.objects.get().pk, "resolved")]


# --- with no subscriber, an emit costs no query -----------------------------------------------------
# The counts below are those of the same calls before these services emitted anything (measured on the
# commit before the emits); the emits add no query: a resolved alert is announced without reading it back.
# Since lots, a stock operation that takes or checks availability reads the product's `tracking` under the
# row lock (+1: reserve, fulfil, adjust); a release takes nothing and reads none. Since replenishment (SPEC
# §15), every stock change looks up the reorder rules of its rows (+1: each stock operation below; none here
# has a rule), a threshold change changes no stock and does not. Since webhooks (SPEC §16), each call asks once
# "is an endpoint listening?" (+1; read once per transaction, however many events it announces: each call is
# a transaction of its own in production, hence `fresh()`).

@pytest.mark.django_db
def test_the_announcing_services_cost_the_queries_they_cost_before(watched, django_assert_num_queries):
    from webhooks.listening import forget as fresh

    fresh()
    with django_assert_num_queries(9):
        held = reserve(watched)
    fresh()
    with django_assert_num_queries(9):
        release_reservation(actor=watched.staff_a, reservation_id=held.pk)
    held = reserve(watched)
    fresh()
    with django_assert_num_queries(13):
        fulfil_reservation(actor=watched.staff_a, reservation_id=held.pk)
    fresh()
    with django_assert_num_queries(19):
        adjust(watched, -6)  # opens an alert (and queues its e-mail)
    fresh()
    with django_assert_num_queries(11):
        adjust(watched, 3)  # resolves it
    row = LowStockThreshold.objects.get()
    adjust(watched, -3)
    fresh()
    with django_assert_num_queries(11):
        update_threshold(actor=watched.admin, row=row, threshold=1)  # resolves it
