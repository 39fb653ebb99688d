"""Reservation services and the availability rule of the stock door (SPEC §10), on the real database."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import AuditEvent
from core.errors import DomainError, NotFound, PermissionDenied
from inventory.errors import InactiveObject, InsufficientStock, InvalidQuantity, ReservationNotActive, StaleQuantity
from inventory.models import Reservation, Stock, StockMovement
from inventory.services import (
    adjust_stock,
    assign_stock,
    deduct_stock,
    expire_due_reservations,
    fulfil_reservation,
    move_stock,
    release_reservation,
    reserve_stock,
)
from inventory.services.stock import Reference
from inventory.tests.factories import ReservationFactory
from inventory.verification import ledger_mismatches

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def row(world, warehouse=None):
    return Stock.objects.get(product=world.product, warehouse=warehouse or world.wh_a)


def buckets(stock):
    stock.refresh_from_db()
    return stock.quantity, stock.reserved, stock.quantity - stock.reserved


def snapshot():
    return (list(Stock.objects.order_by("pk").values_list("quantity", "reserved", "incoming")),
            StockMovement.objects.count(), Reservation.objects.count(), AuditEvent.objects.count())


@pytest.fixture
def held(world):
    """Warehouse A holds 10 units of the product, 6 of them reserved (4 available)."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    return reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, quantity=6,
                         reference="SO-1")


# --- reserve -------------------------------------------------------------------------------------------

def test_reserving_grows_reserved_and_records_who_and_why(world, held):
    assert buckets(row(world)) == (10, 6, 4)
    assert (held.status, held.quantity, held.fulfilled_quantity, held.reference) == ("active", 6, 0, "SO-1")
    assert held.created_by == world.staff_a and held.stock == row(world) and held.expires_at is None
    assert StockMovement.objects.count() == 1  # a promise moves nothing: no ledger row
    event = AuditEvent.objects.get(action="reservation.create")
    assert event.data["quantity"] == 6 and event.data["reserved_after"] == 6


def test_a_reservation_may_take_exactly_what_is_available_and_no_more(world, held):
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    assert buckets(row(world)) == (10, 10, 0)
    before = snapshot()
    with pytest.raises(InsufficientStock) as caught:
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    assert caught.value.extra == {"available": 0, "requested": 1}
    assert snapshot() == before


def test_reserving_where_there_is_no_stock_row_is_insufficient_stock_and_creates_nothing(world):
    with pytest.raises(InsufficientStock) as caught:
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    assert caught.value.extra == {"available": 0, "requested": 1}
    assert not Stock.objects.exists() and not Reservation.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 10**9 + 1, True, 1.5])
def test_reserving_a_bad_quantity_is_refused(world, held, quantity):
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=quantity)
    assert snapshot() == before


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=30, seconds=1)])
def test_expires_at_must_be_in_the_future_and_at_most_30_days_ahead(world, held, offset):
    before = snapshot()
    with time_machine.travel(T0, tick=False), pytest.raises(DomainError) as caught:
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1,
                      expires_at=T0 + offset)
    assert caught.value.code == "invalid"
    assert snapshot() == before


def test_expires_at_exactly_30_days_ahead_is_accepted(world, held):
    with time_machine.travel(T0, tick=False):
        reservation = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1,
                                    expires_at=T0 + timedelta(days=30))
    assert reservation.expires_at == T0 + timedelta(days=30)


def test_reserving_in_another_warehouse_is_permission_denied(world, held):
    for actor in (world.staff_b, world.manager_b, world.viewer):
        with pytest.raises(PermissionDenied):
            reserve_stock(actor=actor, warehouse=world.wh_a, product=world.product, quantity=1)
    assert Reservation.objects.count() == 1


def test_reserving_an_inactive_warehouse_or_product_is_refused(world, held):
    world.product.is_active = False
    world.product.save()
    with pytest.raises(InactiveObject):
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    world.product.is_active = True
    world.product.save()
    world.wh_a.is_active = False
    world.wh_a.save()
    with pytest.raises(InactiveObject):
        reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    assert Reservation.objects.count() == 1


# --- release and fulfil ----------------------------------------------------------------------------------

def test_releasing_gives_the_units_back(world, held):
    released = release_reservation(actor=world.manager_a, reservation_id=held.pk)
    assert (released.status, released.closed_at is not None) == ("released", True)
    assert buckets(row(world)) == (10, 0, 10)
    assert AuditEvent.objects.filter(action="reservation.release").count() == 1


def test_fulfilling_all_takes_the_units_out_with_one_fulfil_movement(world, held):
    done = fulfil_reservation(actor=world.staff_a, reservation_id=held.pk)
    assert (done.status, done.fulfilled_quantity) == ("fulfilled", 6)
    assert buckets(row(world)) == (4, 0, 4)
    movement = StockMovement.objects.get(kind="fulfil")
    assert (movement.quantity_change, movement.quantity_after, movement.reference_type, movement.reference_id,
            movement.actor) == (-6, 4, "reservation", held.pk, world.staff_a)
    assert AuditEvent.objects.get(action="reservation.fulfil").data["released"] == 0


def test_fulfilling_part_takes_that_part_and_releases_the_rest(world, held):
    done = fulfil_reservation(actor=world.admin, reservation_id=held.pk, quantity=2)
    assert (done.status, done.fulfilled_quantity) == ("fulfilled", 2)
    assert buckets(row(world)) == (8, 0, 8)
    assert StockMovement.objects.get(kind="fulfil").quantity_change == -2


@pytest.mark.parametrize("quantity", [7, 0, -1])
def test_fulfilling_more_than_reserved_or_nothing_is_refused_and_changes_nothing(world, held, quantity):
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        fulfil_reservation(actor=world.admin, reservation_id=held.pk, quantity=quantity)
    assert snapshot() == before


@pytest.mark.parametrize("close", [release_reservation, fulfil_reservation])
def test_acting_on_a_closed_reservation_is_not_active_with_its_status(world, held, close):
    close(actor=world.admin, reservation_id=held.pk)
    status = Reservation.objects.get().status
    before = snapshot()
    for again in (release_reservation, fulfil_reservation):
        with pytest.raises(ReservationNotActive) as caught:
            again(actor=world.admin, reservation_id=held.pk)
        assert (caught.value.code, caught.value.extra) == ("not_active", {"status": status})
    assert snapshot() == before


def test_acting_on_another_warehouses_or_an_unknown_reservation_is_not_found(world, held):
    for actor in (world.staff_b, world.manager_b, world.viewer):
        with pytest.raises(NotFound):
            release_reservation(actor=actor, reservation_id=held.pk)
        with pytest.raises(NotFound):
            fulfil_reservation(actor=actor, reservation_id=held.pk)
    with pytest.raises(NotFound):
        release_reservation(actor=world.admin, reservation_id=held.pk + 1000)
    assert Reservation.objects.get().status == "active"


def test_fulfilling_in_a_deactivated_warehouse_is_refused_but_releasing_is_allowed(world, held):
    world.wh_a.is_active = False
    world.wh_a.save()
    with pytest.raises(InactiveObject):
        fulfil_reservation(actor=world.admin, reservation_id=held.pk)
    release_reservation(actor=world.admin, reservation_id=held.pk)
    assert buckets(row(world)) == (10, 0, 10)


# --- the availability rule: no Part I operation takes reserved units ---------------------------------------

def test_a_negative_adjust_may_not_take_reserved_units(world, held):
    before = snapshot()
    with pytest.raises(InsufficientStock) as caught:
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-5, reason="damage")
    assert caught.value.extra == {"available": 4, "requested": 5}
    assert snapshot() == before
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-4, reason="damage")
    assert buckets(row(world)) == (6, 6, 0)


def test_a_deduction_may_not_take_reserved_units(world, held):
    before = snapshot()
    with pytest.raises(InsufficientStock) as caught:
        deduct_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5,
                     reference=Reference("purchase_request", 1))
    assert caught.value.extra == {"available": 4, "requested": 5}
    assert snapshot() == before


def test_a_move_may_not_take_reserved_units(world, held):
    before = snapshot()
    with pytest.raises(InsufficientStock) as caught:
        move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_b, product=world.product, quantity=5,
                   reference=Reference("transfer_request", 1))
    assert caught.value.extra == {"available": 4, "requested": 5, "product": world.product.pk}
    assert snapshot()[0][0] == before[0][0] and snapshot()[1:] == before[1:]


# --- optimistic concurrency on adjust -----------------------------------------------------------------------

def test_adjust_with_the_current_expected_quantity_applies_and_with_a_stale_one_is_refused(world, held):
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=2, reason="correction",
                 expected_quantity=10)
    assert buckets(row(world)) == (12, 6, 6)
    assert StockMovement.objects.order_by("-pk").first().reason == "correction"
    before = snapshot()
    with pytest.raises(StaleQuantity) as caught:
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-1, reason="count",
                     expected_quantity=10)
    assert (caught.value.code, caught.value.extra) == ("stale_quantity", {"current": 12})
    assert snapshot() == before


# --- expiry ---------------------------------------------------------------------------------------------

def test_an_expired_hold_never_blocks_a_sale_even_without_the_worker(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    with time_machine.travel(T0, tick=False):
        hold = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10,
                             expires_at=T0 + timedelta(hours=1))
        with pytest.raises(InsufficientStock):
            adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-1, reason="loss")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-10, reason="loss")
    hold.refresh_from_db()
    assert (hold.status, hold.closed_at) == ("expired", T0 + timedelta(hours=1))
    assert buckets(row(world)) == (0, 0, 0)
    event = AuditEvent.objects.get(action="reservation.expire")
    assert event.actor is None and event.data["quantity"] == 10


def test_a_due_reservation_cannot_be_released_or_fulfilled(world):
    with time_machine.travel(T0, tick=False):
        hold = ReservationFactory(warehouse=world.wh_a, product=world.product, quantity=3,
                                  expires_at=T0 + timedelta(minutes=5))
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        for act in (release_reservation, fulfil_reservation):
            with pytest.raises(ReservationNotActive) as caught:
                act(actor=world.admin, reservation_id=hold.pk)
            assert caught.value.extra == {"status": "expired"}


def test_expire_due_reservations_expires_only_what_is_due(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    with time_machine.travel(T0, tick=False):
        soon = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=2,
                             expires_at=T0 + timedelta(minutes=1))
        later = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3,
                              expires_at=T0 + timedelta(days=1))
        forever = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    assert expire_due_reservations(now=T0 + timedelta(minutes=2)) == 1
    assert [Reservation.objects.get(pk=r.pk).status for r in (soon, later, forever)] == ["expired", "active", "active"]
    assert buckets(row(world)) == (10, 7, 3)
    assert expire_due_reservations(now=T0 + timedelta(minutes=2)) == 0
    assert ledger_mismatches() == []


def test_verify_ledger_notices_a_reserved_bucket_that_drifted_from_its_reservations(world, held):
    Stock.objects.filter(pk=held.stock_id).update(reserved=5)
    (mismatch,) = ledger_mismatches()
    assert (mismatch.kind, mismatch.stock_id, mismatch.expected, mismatch.found) == ("reserved", held.stock_id, 6, 5)
    Stock.objects.filter(pk=held.stock_id).update(reserved=6, incoming=1)
    (mismatch,) = ledger_mismatches()
    assert (mismatch.kind, mismatch.expected, mismatch.found) == ("incoming", 0, 1)
    Stock.objects.filter(pk=held.stock_id).update(incoming=0)


@pytest.mark.parametrize("change", [{"reserved": 11}, {"reserved": -1}, {"incoming": -1}])
def test_the_database_refuses_buckets_out_of_range(world, held, change):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=held.stock_id).update(**change)


def test_fulfilling_one_reservation_expires_another_due_one_on_the_same_row(world):
    """The stock lock skips the due-reservation query only when the row reserves nothing beyond the caller's own
    (locked, not due) reservation; here another one is due, so it is expired in the same transaction."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    with time_machine.travel(T0, tick=False):
        keep = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
        due = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4,
                            expires_at=T0 + timedelta(minutes=5))
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        fulfil_reservation(actor=world.staff_a, reservation_id=keep.pk)
    assert Reservation.objects.get(pk=due.pk).status == "expired"
    assert buckets(row(world)) == (7, 0, 7)


@pytest.mark.parametrize("who", ["admin", "manager_a", "manager_b", "staff_a", "staff_b", "viewer", "inactive"])
def test_the_scope_asked_of_a_locked_reservation_is_the_querysets(world, who):
    """`can_see_reservation` (asked of the locked row in Python) answers as `Reservation.objects.for_user`."""
    from accounts.models import User
    from inventory import policies

    if who == "inactive":
        user = world.staff_a
        User.objects.filter(pk=user.pk).update(status=User.Status.DISMISSED)
        user.refresh_from_db()
    else:
        user = getattr(world, who)
    for warehouse in (world.wh_a, world.wh_b):
        reservation = ReservationFactory(warehouse=warehouse, product=world.product, quantity=1)
        reservation = Reservation.objects.select_related("warehouse").get(pk=reservation.pk)
        assert policies.can_see_reservation(user, reservation) == (
            Reservation.objects.for_user(user).filter(pk=reservation.pk).exists()), (who, warehouse.code)
