"""Reservations of a lot-tracked product (SPEC §14): a reservation promises units that are not expired; its
fulfilment takes them first-expired-first-out from lots that are not expired, one `fulfil` movement per lot,
within `min(quantity − expired, available + held)`; otherwise 409 `insufficient_stock`, nothing changed."""

import datetime
import zoneinfo

import pytest
import time_machine

from accounts.models import AuditEvent
from inventory.lots import StockLot
from inventory.models import Product, Reservation, Stock, StockMovement
from inventory.services import assign_stock, fulfil_reservation, reserve_stock
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches

pytestmark = pytest.mark.django_db

DAY = datetime.date(2027, 3, 10)
NOON = datetime.datetime(2027, 3, 10, 12, 0, tzinfo=datetime.UTC)
LIST = "/api/reservations/"


def days(n):
    return datetime.timedelta(days=n)


def balances(stock) -> dict[str, int]:
    return {b.lot.code: b.quantity for b in StockLot.objects.filter(stock=stock).select_related("lot")}


def state():
    """Everything a refused request must leave untouched."""
    return (list(Stock.objects.order_by("pk").values_list("quantity", "reserved", "version")),
            sorted(StockLot.objects.values_list("pk", "quantity")),
            list(Reservation.objects.order_by("pk").values_list("status", "fulfilled_quantity")),
            StockMovement.objects.count(), AuditEvent.objects.count())


@pytest.fixture
def milk(world):
    """Warehouse A holds lots B1 (expires DAY+5, 4), A1 (DAY+2, 3), N1 (no date, 5) and X1 (expired the day
    before DAY, 2): 14 units, 12 of them not expired on DAY."""
    product = ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)
    with time_machine.travel(NOON - days(3), tick=False):
        for code, expires_on, quantity in (("B1", DAY + days(5), 4), ("A1", DAY + days(2), 3), ("N1", None, 5),
                                           ("X1", DAY - days(1), 2)):
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=quantity, lot=code,
                         expires_on=expires_on)
    return product


def reserve(world, product, quantity, **extra):
    return reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, quantity=quantity, **extra)


# --- reserving promises only units that are not expired -----------------------------------------------

def test_a_reservation_may_promise_only_units_that_are_not_expired(make_client, world, milk):
    with time_machine.travel(NOON, tick=False):
        client = make_client(world.staff_a)
        before = state()
        response = client.post(LIST, {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 13}, format="json")
        assert response.status_code == 409, response.data
        assert response.json() | {"detail": ""} == {"detail": "", "code": "insufficient_stock", "available": 12,
                                                      "requested": 13}
        assert state() == before
        response = client.post(LIST, {"warehouse": world.wh_a.pk, "product": milk.pk, "quantity": 12}, format="json")
        assert response.status_code == 201, response.data
    stock = Stock.objects.get(product=milk)
    assert (stock.quantity, stock.reserved) == (14, 12)


# --- fulfilling takes FEFO from lots that are not expired ---------------------------------------------

@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_a_fulfilment_takes_first_expired_first_out_one_movement_per_lot(make_client, world, milk, who):
    with time_machine.travel(NOON, tick=False):
        reservation = reserve(world, milk, 8, reference="SO-1")
        response = make_client(getattr(world, who)).post(f"{LIST}{reservation.pk}/fulfil/", {"quantity": 6},
                                                         format="json")
    assert response.status_code == 200, response.data
    assert (response.json()["status"], response.json()["fulfilled_quantity"]) == ("fulfilled", 6)
    stock = Stock.objects.get(product=milk)
    # 6 of the 8 leave (A1 first: it expires first, then B1); the remaining 2 are released; X1 is expired.
    assert (stock.quantity, stock.reserved) == (8, 0)
    assert balances(stock) == {"A1": 0, "B1": 1, "N1": 5, "X1": 2}
    taken = list(StockMovement.objects.filter(kind="fulfil").order_by("pk").values_list(
        "lot__code", "quantity_change", "quantity_after", "reference_type", "reference_id", "note"))
    assert taken == [("A1", -3, 11, "reservation", reservation.pk, "SO-1"),
                     ("B1", -3, 8, "reservation", reservation.pk, "SO-1")]
    audit = AuditEvent.objects.get(action="reservation.fulfil")
    lot_ids = dict(StockMovement.objects.filter(kind="fulfil").values_list("lot__code", "lot_id"))
    assert audit.data["lots"] == [[lot_ids["A1"], 3], [lot_ids["B1"], 3]]
    assert len(audit.data["movements"]) == 2 and audit.data["movement"] == audit.data["movements"][-1]
    assert ledger_mismatches() == []


@pytest.mark.parametrize("who", ["viewer", "manager_b", "staff_b"])
def test_the_fulfilment_of_a_lot_tracked_reservation_is_404_out_of_scope(make_client, world, milk, who):
    with time_machine.travel(NOON, tick=False):
        reservation = reserve(world, milk, 2)
        before = state()
        response = make_client(getattr(world, who)).post(f"{LIST}{reservation.pk}/fulfil/", {}, format="json")
    assert response.status_code == 404
    assert state() == before


def test_units_that_expired_after_the_reservation_was_made_are_not_fulfilled(make_client, world, milk):
    with time_machine.travel(NOON, tick=False):
        reservation = reserve(world, milk, 12)
    # Three days later A1 (3 units) has expired too: 14 on hand, 5 expired, 9 may leave.
    with time_machine.travel(NOON + days(3), tick=False):
        client = make_client(world.staff_a)
        before = state()
        response = client.post(f"{LIST}{reservation.pk}/fulfil/", {}, format="json")
        assert response.status_code == 409, response.data
        assert response.json() | {"detail": ""} == {"detail": "", "code": "insufficient_stock", "available": 9,
                                                      "requested": 12}
        assert state() == before
        response = client.post(f"{LIST}{reservation.pk}/fulfil/", {"quantity": 9}, format="json")
        assert response.status_code == 200, response.data
    stock = Stock.objects.get(product=milk)
    assert (stock.quantity, stock.reserved) == (5, 0)  # the 3 not fulfilled are released
    assert balances(stock) == {"A1": 3, "B1": 0, "N1": 0, "X1": 2}
    assert list(StockMovement.objects.filter(kind="fulfil").order_by("pk").values_list("lot__code", flat=True)) == [
        "B1", "N1"]


def test_when_holds_exceed_the_units_not_expired_the_first_to_fulfil_is_served(world, milk):
    with time_machine.travel(NOON, tick=False):
        first = reserve(world, milk, 7)
        second = reserve(world, milk, 5)
    with time_machine.travel(NOON + days(3), tick=False):  # A1 expired: 9 units not expired for 12 promised
        fulfil_reservation(actor=world.staff_a, reservation_id=second.pk)
        with pytest.raises(Exception) as caught:
            fulfil_reservation(actor=world.staff_a, reservation_id=first.pk)
        assert (caught.value.code, caught.value.extra) == ("insufficient_stock", {"available": 4, "requested": 7})
        fulfil_reservation(actor=world.staff_a, reservation_id=first.pk, quantity=4)
    stock = Stock.objects.get(product=milk)
    assert (stock.quantity, stock.reserved, balances(stock)) == (5, 0, {"A1": 3, "B1": 0, "N1": 0, "X1": 2})


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland"])
def test_a_lot_may_be_fulfilled_on_its_last_day_and_not_the_day_after(world, settings, zone):
    settings.TIME_ZONE = zone
    tz = zoneinfo.ZoneInfo(zone)
    product = ProductFactory(tracking=Product.Tracking.LOT)
    last_minute = datetime.datetime.combine(DAY, datetime.time(23, 59), tzinfo=tz)
    with time_machine.travel(last_minute - days(1), tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=4, lot="T", expires_on=DAY)
        first = reserve(world, product, 2)
        second = reserve(world, product, 2)
    with time_machine.travel(last_minute, tick=False):
        fulfil_reservation(actor=world.staff_a, reservation_id=first.pk)
    with time_machine.travel(last_minute + datetime.timedelta(minutes=2), tick=False):
        with pytest.raises(Exception) as caught:
            fulfil_reservation(actor=world.staff_a, reservation_id=second.pk)
        assert (caught.value.code, caught.value.extra) == ("insufficient_stock", {"available": 0, "requested": 2})
    stock = Stock.objects.get(product=product)
    assert (stock.quantity, stock.reserved, balances(stock)) == (2, 2, {"T": 2})
    assert Reservation.objects.get(pk=second.pk).status == "active"


def test_a_fulfilment_of_a_product_that_is_not_lot_tracked_names_no_lot(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    reservation = reserve(world, world.product, 3)
    fulfil_reservation(actor=world.staff_a, reservation_id=reservation.pk, quantity=2)
    movement = StockMovement.objects.get(kind="fulfil")
    assert (movement.lot_id, movement.quantity_change) == (None, -2)
    audit = AuditEvent.objects.get(action="reservation.fulfil")
    assert "lots" not in audit.data and audit.data["movement"] == movement.pk
