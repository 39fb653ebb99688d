"""The stock door with lots (SPEC §14): units coming in name their lot, units going out without one are taken
first-expired-first-out from lots that are not expired, one movement per lot; expired units are not available."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from core.errors import DomainError
from inventory.lots import Lot, StockLot, is_expired, today
from inventory.models import Product, Stock, StockMovement
from inventory.services import (
    Reference,
    StockChange,
    adjust_stock,
    apply_stock_changes,
    assign_stock,
    deduct_stock,
    reserve_stock,
)
from inventory.services.stock import Kind
from inventory.tests.factories import LotFactory, ProductFactory
from inventory.verification import ledger_mismatches

pytestmark = pytest.mark.django_db

DAY = datetime.date(2027, 3, 10)
NOON = datetime.datetime(2027, 3, 10, 12, 0, tzinfo=datetime.UTC)


def lot_product(sku="MILK-1"):
    return ProductFactory(sku=sku, tracking=Product.Tracking.LOT)


def balances(stock) -> dict[str, int]:
    return {b.lot.code: b.quantity for b in StockLot.objects.filter(stock=stock).select_related("lot")}


def code_of(error) -> str:
    return error.value.code


@pytest.fixture
def milk(world):
    """A lot-tracked product in warehouse A: lots B1 (expires day+5, 4), A1 (day+2, 3), N1 (no date, 5),
    X1 (expired yesterday, 2), created in that order at noon of DAY."""
    product = lot_product()
    with time_machine.travel(NOON, tick=False):
        for code, expires_on, quantity in (("B1", DAY + datetime.timedelta(days=5), 4),
                                           ("A1", DAY + datetime.timedelta(days=2), 3),
                                           ("N1", None, 5)):
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=quantity, lot=code,
                         expires_on=expires_on)
    with time_machine.travel(NOON - datetime.timedelta(days=3), tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot="X1",
                     expires_on=DAY - datetime.timedelta(days=1))
    return product


# --- coming in ---------------------------------------------------------------------------------------

def test_assign_names_its_lot_creating_it_with_its_date(world):
    product = lot_product()
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=7, lot="L-1",
                         expires_on=DAY)
    lot = Lot.objects.get(product=product)
    assert (lot.code, lot.expires_on) == ("L-1", DAY)
    assert balances(stock) == {"L-1": 7}
    movement = StockMovement.objects.get(stock=stock)
    assert (movement.lot_id, movement.quantity_change, movement.quantity_after) == (lot.pk, 7, 7)


def test_a_known_lot_is_found_by_its_code_compared_like_skus(world):
    product = lot_product()
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot="Lot-A")
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot="LOT-a")
    assert Lot.objects.filter(product=product).count() == 1
    assert balances(stock) == {"Lot-A": 3}


def test_units_of_a_lot_tracked_product_must_name_their_lot(world):
    product = lot_product()
    with pytest.raises(DomainError) as caught:
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1)
    assert code_of(caught) == "lot_required"
    with pytest.raises(DomainError) as caught:
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=1, reason="found")
    assert code_of(caught) == "lot_required"
    assert not Stock.objects.filter(product=product).exclude(quantity=0).exists()
    assert not Lot.objects.filter(product=product).exists()


def test_a_lot_named_for_a_product_that_is_not_lot_tracked_is_refused(world):
    for call in (lambda: assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1,
                                      lot="L1"),
                 lambda: adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-1,
                                      reason="damage", lot="L1")):
        with pytest.raises(DomainError) as caught:
            call()
        assert code_of(caught) == "not_lot_tracked"
    assert not StockMovement.objects.filter(product=world.product).exists()


def test_a_date_that_differs_from_the_known_lots_is_a_mismatch_and_changes_nothing(world):
    product = lot_product()
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot="D", expires_on=DAY)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot="U")
    for code, given, known in (("D", DAY + datetime.timedelta(days=1), DAY.isoformat()), ("D", None, DAY.isoformat()),
                               ("U", DAY, None)):
        with pytest.raises(DomainError) as caught:
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot=code,
                         expires_on=given)
        assert code_of(caught) == "lot_mismatch"
        assert caught.value.extra["expires_on"] == known
    # The same date, or none given, is the known lot.
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot="D",
                         expires_on=DAY)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1, lot="U")
    assert balances(stock) == {"D": 2, "U": 2}


def test_a_refused_operation_leaves_no_new_lot_behind(world):
    product = lot_product()
    with pytest.raises(DomainError):
        assign_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, quantity=1, lot="NEW")
    assert not Lot.objects.filter(product=product).exists()


# --- going out: FEFO ---------------------------------------------------------------------------------

def test_a_negative_adjust_takes_first_expired_first_out_one_movement_per_lot(world, milk):
    with time_machine.travel(NOON, tick=False):
        stock = adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-9, reason="damage")
    assert balances(stock) == {"A1": 0, "B1": 0, "N1": 3, "X1": 2}
    taken = list(StockMovement.objects.filter(stock=stock, quantity_change__lt=0).order_by("pk")
                 .values_list("lot__code", "quantity_change", "quantity_after"))
    # Earliest date first, a lot without a date last; the expired lot is never taken this way.
    assert taken == [("A1", -3, 11), ("B1", -4, 7), ("N1", -2, 5)]
    assert stock.quantity == 5
    assert ledger_mismatches() == []


def test_ties_on_the_date_go_by_creation_then_id(world):
    product = lot_product()
    with time_machine.travel(NOON, tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot="LATE", expires_on=DAY)
    with time_machine.travel(NOON - datetime.timedelta(hours=1), tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot="EARLY",
                     expires_on=DAY)
    with time_machine.travel(NOON, tick=False):
        stock = adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=-3, reason="loss")
    assert balances(stock) == {"EARLY": 0, "LATE": 1}


def test_expired_units_are_not_available(world, milk):
    with time_machine.travel(NOON, tick=False), pytest.raises(DomainError) as caught:
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-13, reason="damage")
    assert code_of(caught) == "insufficient_stock"
    assert (caught.value.extra["available"], caught.value.extra["requested"]) == (12, 13)
    assert Stock.objects.get(product=milk).quantity == 14


def test_a_purchase_approval_takes_fefo_and_returns_the_movements_in_order(world, milk):
    with time_machine.travel(NOON, tick=False):
        movements = deduct_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, quantity=4,
                                 reference=Reference("purchase_request", 7))
    assert [(m.lot.code, m.quantity_change) for m in movements] == [("A1", -3), ("B1", -1)]
    assert {m.reference_id for m in movements} == {7}


def test_reserved_units_stay_covered_when_expired_units_are_counted(world, milk):
    with time_machine.travel(NOON, tick=False):
        reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, quantity=10)
        # quantity 14, reserved 10, expired 2: available 2.
        with pytest.raises(DomainError) as caught:
            adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-3, reason="damage")
        assert caught.value.extra["available"] == 2
        stock = adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-2, reason="damage")
    assert (stock.quantity, stock.reserved) == (12, 10)


def test_a_multi_lot_take_raises_the_rows_version_once(world, milk):
    before = Stock.objects.get(product=milk).version
    with time_machine.travel(NOON, tick=False):
        stock = adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-9, reason="damage")
    assert stock.version == before + 1
    assert Stock.objects.get(pk=stock.pk).version == before + 1


# --- going out: a named lot --------------------------------------------------------------------------

def test_a_negative_adjust_naming_a_lot_takes_that_lot_alone(world, milk):
    with time_machine.travel(NOON, tick=False):
        stock = adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-2, reason="damage",
                             lot="n1")
        assert balances(stock)["N1"] == 3
        with pytest.raises(DomainError) as caught:
            adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-4, reason="damage", lot="N1")
    assert (code_of(caught), caught.value.extra["available"]) == ("insufficient_stock", 3)


def test_expired_units_leave_only_through_an_adjust_naming_their_lot(world, milk):
    with time_machine.travel(NOON, tick=False):
        with pytest.raises(DomainError) as caught:
            adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-2, reason="expired")
        assert code_of(caught) == "lot_required"
        stock = adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-2, reason="expired",
                             lot="X1")
    assert balances(stock)["X1"] == 0
    movement = StockMovement.objects.filter(stock=stock).latest("pk")
    assert (movement.reason, movement.lot.code, movement.quantity_change) == ("expired", "X1", -2)


def test_an_expired_lot_may_be_written_off_only_within_quantity_minus_reserved(world):
    product = lot_product()
    with time_machine.travel(NOON - datetime.timedelta(days=3), tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=5, lot="E",
                     expires_on=DAY - datetime.timedelta(days=1))
        reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, quantity=4)
    with time_machine.travel(NOON, tick=False):
        # quantity 5, reserved 4, all 5 expired: one unit may leave (the promised four stay covered).
        with pytest.raises(DomainError) as caught:
            adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, delta=-2, reason="expired",
                         lot="E")
        assert caught.value.extra["available"] == 1
        stock = adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=product, delta=-1, reason="expired",
                             lot="E")
    assert (stock.quantity, stock.reserved, balances(stock)["E"]) == (4, 4, 4)


def test_a_lot_the_product_does_not_have_holds_nothing_to_take(world, milk):
    with pytest.raises(DomainError) as caught:
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-1, reason="damage", lot="NOPE")
    assert (code_of(caught), caught.value.extra["available"]) == ("insufficient_stock", 0)
    assert not Lot.objects.filter(code="NOPE").exists()


# --- the day boundary of "expired" -------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_a_lot_is_expired_from_the_day_after_its_date_in_the_project_time_zone(world, settings, zone):
    settings.TIME_ZONE = zone
    tz = zoneinfo.ZoneInfo(zone)
    product = lot_product()
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=3, lot="T", expires_on=DAY)
    last_minute = datetime.datetime.combine(DAY, datetime.time(23, 59), tzinfo=tz)
    with time_machine.travel(last_minute, tick=False):
        assert today() == DAY and not is_expired(DAY)
        stock = adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=-1, reason="damage")
        assert balances(stock) == {"T": 2}
    with time_machine.travel(last_minute + datetime.timedelta(minutes=2), tick=False):
        assert today() == DAY + datetime.timedelta(days=1) and is_expired(DAY)
        with pytest.raises(DomainError) as caught:
            adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=-1, reason="damage")
        assert caught.value.extra["available"] == 0


# --- batches (counts, imports) -----------------------------------------------------------------------

def test_a_batch_acts_on_the_lot_each_line_names(world, milk):
    lots = {lot.code: lot.pk for lot in Lot.objects.filter(product=milk)}
    new = LotFactory(product=milk, code="F1")
    with time_machine.travel(NOON, tick=False):
        apply_stock_changes(actor=world.admin, kind=Kind.ADJUST, reason="count", changes=[
            StockChange(milk.pk, world.wh_a.pk, target=1, lot_id=lots["B1"]),
            StockChange(milk.pk, world.wh_a.pk, delta=2, lot_id=new.pk),
            StockChange(milk.pk, world.wh_a.pk, target=0, lot_id=lots["X1"]),
        ])
    stock = Stock.objects.get(product=milk, warehouse=world.wh_a)
    assert balances(stock) == {"A1": 3, "B1": 1, "N1": 5, "X1": 0, "F1": 2}
    assert stock.quantity == 11
    assert ledger_mismatches() == []


def test_a_batch_refuses_a_lot_below_zero_naming_the_line(world, milk):
    lots = {lot.code: lot.pk for lot in Lot.objects.filter(product=milk)}
    with pytest.raises(DomainError) as caught:
        apply_stock_changes(actor=world.admin, kind=Kind.ADJUST, reason="count", changes=[
            StockChange(milk.pk, world.wh_a.pk, delta=1, lot_id=lots["B1"]),
            StockChange(milk.pk, world.wh_a.pk, delta=-4, lot_id=lots["A1"]),
        ])
    assert caught.value.shortfalls == [1]
    assert Stock.objects.get(product=milk).quantity == 14


def test_a_batch_line_of_a_lot_tracked_product_without_a_lot_may_only_change_nothing(world, milk):
    result = apply_stock_changes(actor=world.admin, kind=Kind.ADJUST, reason="count",
                                 changes=[StockChange(milk.pk, world.wh_a.pk, target=14)])
    assert result == [None]
    with pytest.raises(DomainError) as caught:
        apply_stock_changes(actor=world.admin, kind=Kind.ADJUST, reason="count",
                            changes=[StockChange(world.product.pk, world.wh_a.pk, target=3),
                                     StockChange(milk.pk, world.wh_a.pk, target=15)])
    assert (code_of(caught), caught.value.index) == ("lot_required", 1)
    lot = Lot.objects.filter(product=milk).first()
    with pytest.raises(DomainError) as caught:
        apply_stock_changes(actor=world.admin, kind=Kind.ADJUST, reason="count",
                            changes=[StockChange(world.product.pk, world.wh_a.pk, target=3, lot_id=lot.pk)])
    assert (code_of(caught), caught.value.index) == ("not_lot_tracked", 0)
    assert not StockMovement.objects.filter(product=world.product).exists()


# --- the books ---------------------------------------------------------------------------------------

def test_the_database_refuses_a_negative_lot_balance(world, milk):
    balance = StockLot.objects.filter(stock__product=milk).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLot.objects.filter(pk=balance.pk).update(quantity=-1)


def test_the_ledger_proof_finds_a_lot_balance_that_disagrees_with_its_movements(world, milk):
    balance = StockLot.objects.filter(stock__product=milk, lot__code="A1").get()
    StockLot.objects.filter(pk=balance.pk).update(quantity=2)
    kinds = sorted({(m.kind, m.lot_id) for m in ledger_mismatches()}, key=str)
    assert kinds == [("lot", balance.lot_id), ("lots", None)]
    StockLot.objects.filter(pk=balance.pk).update(quantity=3)
    assert ledger_mismatches() == []


def test_the_ledger_proof_finds_units_of_a_lot_tracked_product_held_in_no_lot_when_no_lot_exists(world):
    """The proof's shortcut (no lot and no lot-tracked product: nothing to check) must not hide a lot-tracked
    row whose units are in no lot, even when not a single lot exists."""
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=4)
    assert not Lot.objects.exists() and ledger_mismatches() == []
    Product.objects.filter(pk=world.product.pk).update(tracking=Product.Tracking.LOT)  # bypasses the switch's 409
    assert [(m.kind, m.stock_id, m.expected, m.found) for m in ledger_mismatches()] == [("lots", stock.pk, 4, 0)]
    Product.objects.filter(pk=world.product.pk).update(tracking=Product.Tracking.NONE)  # whole again for teardown


def test_operations_on_a_product_that_is_not_lot_tracked_write_no_lot(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-2, reason="damage")
    assert not StockLot.objects.filter(stock=stock).exists()
    assert not StockMovement.objects.filter(stock=stock, lot__isnull=False).exists()
