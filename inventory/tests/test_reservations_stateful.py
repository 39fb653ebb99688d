"""A Hypothesis state machine over the stock services: the buckets always equal their sources.

Random sequences of assign, adjust, reserve, release, fulfil, clock moves, expiry, purchase approval,
direct transfer approval and in-transit transfers (approve, ship, partial receipts, close, cancel)
over two warehouses. After every step: `0 ≤ reserved ≤ quantity`, `quantity = Σ ledger`,
`reserved = Σ active reservations + Σ approved, unshipped transfer lines`, `incoming` = the units on
their way; units are conserved (Σ quantity + Σ incoming + lost in transit = units in − units out);
and every operation that takes units succeeded exactly when a model of "available" (on hand minus
the holds not yet due) said it could.
Bounded and derandomized, so CI runs the same few seconds every time.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db.models import Sum
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from core.errors import DomainError
from inventory.models import Reservation, Stock, StockMovement
from inventory.services import (
    adjust_stock,
    assign_stock,
    expire_due_reservations,
    fulfil_reservation,
    release_reservation,
    reserve_stock,
)
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches
from workflows.models import TransferLine
from workflows.services import (
    cancel_transfer,
    close_transfer,
    create_purchase_request,
    create_transfer_request,
    decide_purchase_request,
    decide_transfer_request,
    receive_transfer,
    ship_transfer,
)

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
WAREHOUSES = st.sampled_from(["wh_a", "wh_b"])
UNITS = st.integers(min_value=1, max_value=6)


class StockMachine(RuleBasedStateMachine):
    """Services against a model of on-hand units and holds, for one fresh product per example."""

    world = None  # set by the test

    def __init__(self):
        super().__init__()
        self.traveller = time_machine.travel(T0, tick=False)
        self.clock = self.traveller.start()
        self.product = ProductFactory()
        self.on_hand = {"wh_a": 0, "wh_b": 0}
        self.holds: dict[int, tuple[str, int, datetime | None]] = {}  # active holds: id → (wh, units, expires_at)
        self.transit_holds: dict[int, tuple[str, int]] = {}  # approved in-transit transfers: id → (source, units)
        self.in_flight: dict[int, tuple[str, int, int]] = {}  # shipped: id → (destination, line id, outstanding)
        self.incoming = {"wh_a": 0, "wh_b": 0}
        self.lost = 0  # rejected on receipt or written off on close
        self.net_in = 0  # units that entered the system (assign, adjust in) minus those taken out

    def teardown(self):
        self.traveller.stop()

    # --- the model ---
    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def _expire_due(self, wh: str | None = None):
        """What locking `wh`'s row (or the worker, for None) does first: due holds stop holding."""
        for pk, (hold_wh, _, expires_at) in list(self.holds.items()):
            if (wh is None or hold_wh == wh) and expires_at is not None and expires_at <= self.now():
                del self.holds[pk]

    def is_due(self, expires_at) -> bool:
        return expires_at is not None and expires_at <= self.now()

    def held(self, wh: str, *, counting_due: bool) -> int:
        return sum(units for hold_wh, units, expires_at in self.holds.values()
                   if hold_wh == wh and (counting_due or not self.is_due(expires_at)))

    def transit_held(self, wh: str) -> int:
        return sum(units for source, units in self.transit_holds.values() if source == wh)

    def available(self, wh: str) -> int:
        """What an operation that locks `wh`'s row may take: due holds are expired first (and only if it commits)."""
        return self.on_hand[wh] - self.held(wh, counting_due=False) - self.transit_held(wh)

    def has_row(self, wh: str) -> bool:
        return Stock.objects.filter(product=self.product, warehouse=getattr(self.world, wh)).exists()

    def attempt(self, expect_ok: bool, call):
        try:
            result = call()
        except DomainError as error:
            assert not expect_ok, f"refused ({error.code}: {error.detail}) although the model allowed it"
            assert error.code == "insufficient_stock", error.code
            return None
        assert expect_ok, "allowed although the model said there was not enough available"
        return result

    # --- the rules ---
    @initialize(a=st.integers(min_value=5, max_value=20), b=st.integers(min_value=0, max_value=10))
    def opening_stock(self, a, b):
        for wh, units in (("wh_a", a), ("wh_b", b)):
            if units:
                self.assign(wh, units)

    @rule(wh=WAREHOUSES, units=UNITS)
    def assign(self, wh, units):
        assign_stock(actor=self.world.admin, warehouse=getattr(self.world, wh), product=self.product, quantity=units)
        self._expire_due(wh)
        self.on_hand[wh] += units
        self.net_in += units

    @rule(wh=WAREHOUSES, delta=st.integers(min_value=-6, max_value=6).filter(bool))
    def adjust(self, wh, delta):
        self.clock.shift(timedelta(minutes=1))  # every step takes a minute: holds fall due
        ok = delta > 0 or (self.has_row(wh) and -delta <= self.available(wh))
        if self.attempt(ok, lambda: adjust_stock(actor=self.world.admin, warehouse=getattr(self.world, wh),
                                                 product=self.product, delta=delta, reason="count")):
            self._expire_due(wh)
            self.on_hand[wh] += delta
            self.net_in += delta

    @rule(wh=WAREHOUSES, units=st.integers(min_value=1, max_value=4),
          minutes=st.none() | st.integers(min_value=1, max_value=10))
    def reserve(self, wh, units, minutes):
        self.clock.shift(timedelta(minutes=1))  # every step takes a minute: holds fall due
        expires_at = None if minutes is None else self.now() + timedelta(minutes=minutes)
        ok = self.has_row(wh) and units <= self.available(wh)
        reservation = self.attempt(ok, lambda: reserve_stock(
            actor=self.world.admin, warehouse=getattr(self.world, wh), product=self.product, quantity=units,
            expires_at=expires_at))
        if reservation is not None:
            self._expire_due(wh)
            self.holds[reservation.pk] = (wh, units, expires_at)

    def _pick(self, data):
        if not self.holds:
            return None
        return data.draw(st.sampled_from(sorted(self.holds)))

    @rule(data=st.data())
    def release(self, data):
        self.clock.shift(timedelta(minutes=1))  # every step takes a minute: holds fall due
        pk = self._pick(data)
        if pk is None:
            return
        wh, _, expires_at = self.holds[pk]
        due = expires_at is not None and expires_at <= self.now()
        try:
            release_reservation(actor=self.world.admin, reservation_id=pk)
        except DomainError as error:
            assert due and error.code == "not_active", error.code
            return
        assert not due
        self._expire_due(wh)
        del self.holds[pk]

    @rule(data=st.data(), part=st.booleans())
    def fulfil(self, data, part):
        self.clock.shift(timedelta(minutes=1))  # every step takes a minute: holds fall due
        pk = self._pick(data)
        if pk is None:
            return
        wh, units, expires_at = self.holds[pk]
        taken = data.draw(st.integers(min_value=1, max_value=units)) if part else units
        due = expires_at is not None and expires_at <= self.now()
        try:
            fulfil_reservation(actor=self.world.staff_a if wh == "wh_a" else self.world.staff_b,
                               reservation_id=pk, quantity=taken)
        except DomainError as error:
            assert due and error.code == "not_active", error.code
            return
        assert not due
        self._expire_due(wh)
        del self.holds[pk]
        self.on_hand[wh] -= taken
        self.net_in -= taken

    @rule(minutes=st.integers(min_value=1, max_value=15))
    def tick(self, minutes):
        self.clock.shift(timedelta(minutes=minutes))

    @rule()
    def expire(self):
        expire_due_reservations()
        self._expire_due()

    @rule(wh=WAREHOUSES, units=UNITS)
    def approve_purchase(self, wh, units):
        self.clock.shift(timedelta(minutes=1))  # every step takes a minute: holds fall due
        warehouse = getattr(self.world, wh)
        purchase = create_purchase_request(actor=self.world.viewer, warehouse=warehouse, product=self.product,
                                           quantity=units)
        ok = self.has_row(wh) and units <= self.available(wh)
        if self.attempt(ok, lambda: decide_purchase_request(actor=self.world.admin, request_id=purchase.pk,
                                                            decision="approve")):
            self._expire_due(wh)
            self.on_hand[wh] -= units
            self.net_in -= units

    @rule(source=WAREHOUSES, units=UNITS)
    def approve_transfer(self, source, units):
        self.clock.shift(timedelta(minutes=1))  # every step takes a minute: holds fall due
        destination = "wh_b" if source == "wh_a" else "wh_a"
        transfer = create_transfer_request(actor=self.world.admin, source=getattr(self.world, source),
                                           destination=getattr(self.world, destination), product=self.product,
                                           quantity=units)
        ok = self.has_row(source) and units <= self.available(source)
        if self.attempt(ok, lambda: decide_transfer_request(actor=self.world.admin, request_id=transfer.pk,
                                                            decision="approve")):
            self._expire_due(source)
            self._expire_due(destination)
            self.on_hand[source] -= units
            self.on_hand[destination] += units

    # --- transfers that travel (SPEC §11) ---
    def _other(self, wh: str) -> str:
        return "wh_b" if wh == "wh_a" else "wh_a"

    @rule(source=WAREHOUSES, units=UNITS)
    def approve_in_transit(self, source, units):
        self.clock.shift(timedelta(minutes=1))
        transfer = create_transfer_request(actor=self.world.admin, source=getattr(self.world, source),
                                           destination=getattr(self.world, self._other(source)),
                                           product=self.product, quantity=units, mode="in_transit")
        ok = self.has_row(source) and units <= self.available(source)
        if self.attempt(ok, lambda: decide_transfer_request(actor=self.world.admin, request_id=transfer.pk,
                                                            decision="approve")):
            self._expire_due(source)
            self.transit_holds[transfer.pk] = (source, units)

    @rule(data=st.data())
    def ship(self, data):
        if not self.transit_holds:
            return
        pk = data.draw(st.sampled_from(sorted(self.transit_holds)))
        source, units = self.transit_holds.pop(pk)
        destination = self._other(source)
        ship_transfer(actor=self.world.staff_a if source == "wh_a" else self.world.staff_b, transfer_id=pk)
        self._expire_due(source)
        self._expire_due(destination)
        self.on_hand[source] -= units
        self.incoming[destination] += units
        self.in_flight[pk] = (destination, TransferLine.objects.get(transfer_id=pk).pk, units)

    @rule(data=st.data())
    def receive(self, data):
        if not self.in_flight:
            return
        pk = data.draw(st.sampled_from(sorted(self.in_flight)))
        destination, line, outstanding = self.in_flight[pk]
        total = data.draw(st.integers(min_value=1, max_value=outstanding + 1))
        rejected = data.draw(st.integers(min_value=0, max_value=total))
        staff = self.world.staff_a if destination == "wh_a" else self.world.staff_b
        try:
            receive_transfer(actor=staff, transfer_id=pk,
                             receipts=[{"line": line, "accepted": total - rejected, "rejected": rejected}])
        except DomainError as error:
            assert total > outstanding and error.code == "invalid_quantity", error.code
            return
        assert total <= outstanding
        self._expire_due(destination)
        self.on_hand[destination] += total - rejected
        self.incoming[destination] -= total
        self.lost += rejected
        if total == outstanding:
            del self.in_flight[pk]
        else:
            self.in_flight[pk] = (destination, line, outstanding - total)

    @rule(data=st.data())
    def close(self, data):
        if not self.in_flight:
            return
        pk = data.draw(st.sampled_from(sorted(self.in_flight)))
        destination, _, outstanding = self.in_flight.pop(pk)
        close_transfer(actor=self.world.admin, transfer_id=pk, reason="lost")
        self._expire_due(destination)
        self.incoming[destination] -= outstanding
        self.lost += outstanding

    @rule(data=st.data())
    def cancel(self, data):
        if not self.transit_holds:
            return
        pk = data.draw(st.sampled_from(sorted(self.transit_holds)))
        source, _ = self.transit_holds.pop(pk)
        cancel_transfer(actor=self.world.admin, transfer_id=pk)
        self._expire_due(source)

    # --- after every step ---
    @invariant()
    def buckets_equal_their_sources(self):
        for stock in Stock.objects.filter(product=self.product):
            ledger = StockMovement.objects.filter(stock=stock).aggregate(total=Sum("quantity_change"))["total"] or 0
            held = (Reservation.objects.filter(stock=stock, status=Reservation.Status.ACTIVE)
                    .aggregate(total=Sum("quantity"))["total"] or 0)
            wh = "wh_a" if stock.warehouse_id == self.world.wh_a.pk else "wh_b"
            assert 0 <= stock.reserved <= stock.quantity
            assert stock.quantity == ledger
            assert stock.reserved == held + self.transit_held(wh)
            assert stock.quantity == self.on_hand[wh]
            assert stock.reserved == self.held(wh, counting_due=True) + self.transit_held(wh)
            assert stock.incoming == self.incoming[wh]

    @invariant()
    def units_are_conserved(self):
        """Σ quantity + Σ incoming + lost in transit = units in − units out (SPEC §11)."""
        rows = Stock.objects.filter(product=self.product).aggregate(q=Sum("quantity"), i=Sum("incoming"))
        lost = TransferLine.objects.filter(product=self.product).aggregate(r=Sum("rejected_quantity"))["r"] or 0
        assert lost == self.lost
        assert (rows["q"] or 0) + (rows["i"] or 0) + lost == self.net_in

    @invariant()
    def the_ledger_proves_every_row(self):
        assert ledger_mismatches(limit=5) == []


@pytest.mark.django_db
def test_the_stock_services_keep_every_bucket_equal_to_its_sources(world):
    StockMachine.world = world
    run_state_machine_as_test(StockMachine, settings=settings(
        max_examples=20, stateful_step_count=25, derandomize=True, deadline=None, database=None,
    ))
