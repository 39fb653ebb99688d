"""The Hypothesis state machine of `test_reservations_stateful`, for a lot-tracked product (SPEC §14).

The same random sequences (assign, adjust, reserve, release, fulfil, clock moves, reservation expiry,
purchase approval, direct and in-transit transfers with partial receipts, close, cancel), where units coming
in name a lot (a few codes, each with an expiry date from yesterday to three days ahead, or none), negative
adjusts take FEFO or name a lot (an expired one with reason `expired`), receipts name a lot or fill the lots
in the order shipped, and the clock also moves by whole days, so lots expire under holds and shipments. The
model keeps every lot's balance per warehouse and takes FEFO itself; after every step: each lot balance is
the model's and the sum of its movements, Σ lot balances = quantity, `0 ≤ reserved ≤ quantity`, units are
conserved across transit (per lot too), and every take succeeded exactly when the model said it could.
"""

from datetime import date, timedelta

import pytest
from django.db.models import Sum
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule, run_state_machine_as_test

from core.errors import DomainError
from inventory.lots import StockLot, is_expired, today
from inventory.models import Product, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, fulfil_reservation
from inventory.tests.test_reservations_stateful import UNITS, WAREHOUSES, StockMachine
from workflows.models import TransferLine, TransferLineLot
from workflows.services import (
    close_transfer,
    create_purchase_request,
    create_transfer_request,
    decide_purchase_request,
    decide_transfer_request,
    receive_transfer,
    ship_transfer,
)

CODES = st.sampled_from(["L1", "L2", "L3", "L4"])
# A new lot's expiry: days from today (−1: already expired), or None (never expires).
EXPIRES = st.none() | st.integers(min_value=-1, max_value=3)


class LotMachine(StockMachine):
    """The stock machine for one fresh lot-tracked product per example, with a model of its lots."""

    def __init__(self):
        super().__init__()
        Product.objects.filter(pk=self.product.pk).update(tracking=Product.Tracking.LOT)
        self.product.tracking = Product.Tracking.LOT
        self.expiry: dict[str, date | None] = {}  # lot code → expires_on, in the order the lots were created
        self.lots = {"wh_a": {}, "wh_b": {}}  # warehouse → lot code → units on hand
        self.flight_lots: dict[int, list[list]] = {}  # shipped transfer → [[code, outstanding]] in shipped order
        self.lost_lots: dict[str, int] = {}

    # --- the model of lots ---
    def _expires_on(self, code: str, days: int | None):
        """A known lot keeps its date; a new one gets `days` from today."""
        if code not in self.expiry:
            self.expiry[code] = None if days is None else today() + timedelta(days=days)
        return self.expiry[code]

    def _expired(self, code: str) -> bool:
        return is_expired(self.expiry[code], on=today())

    def expired(self, wh: str) -> int:
        return sum(units for code, units in self.lots[wh].items() if self._expired(code))

    def available(self, wh: str) -> int:
        """`max(0, quantity − reserved − expired)`, due holds expired first (SPEC §14)."""
        return max(0, self.on_hand[wh] - self.held(wh, counting_due=False) - self.transit_held(wh) - self.expired(wh))

    def limit_holding(self, wh: str, held: int) -> int:
        """What a fulfilment or shipment holding `held` units may take: `min(quantity − expired, available + held)`."""
        return min(self.on_hand[wh] - self.expired(wh), self.available(wh) + held)

    def _put(self, wh: str, code: str, units: int) -> None:
        self.lots[wh][code] = self.lots[wh].get(code, 0) + units
        self.on_hand[wh] += units

    def _take_fefo(self, wh: str, units: int) -> list[list]:
        """Take `units` first-expired-first-out from lots that are not expired: [[code, units]] in the order taken."""
        order = sorted((code for code, held in self.lots[wh].items() if held and not self._expired(code)),
                       key=lambda code: (self.expiry[code] is None, self.expiry[code] or date.min,
                                         list(self.expiry).index(code)))
        taken = []
        for code in order:
            share = min(units, self.lots[wh][code])
            if share:
                taken.append([code, share])
                self.lots[wh][code] -= share
                units -= share
        assert units == 0, "the model took more than the units that are not expired"
        self.on_hand[wh] -= sum(share for _, share in taken)
        return taken

    # --- units coming in name their lot ---
    @initialize(a=st.integers(min_value=5, max_value=20), b=st.integers(min_value=0, max_value=10),
                days=EXPIRES)
    def opening_stock(self, a, b, days):
        for wh, units, code in (("wh_a", a, "L1"), ("wh_b", b, "L2")):
            if units:
                self.assign(wh, units, code, days)

    @rule(wh=WAREHOUSES, units=UNITS, code=CODES, days=EXPIRES)
    def assign(self, wh, units, code, days):
        expires_on = self._expires_on(code, days)
        assign_stock(actor=self.world.admin, warehouse=getattr(self.world, wh), product=self.product, quantity=units,
                     lot=code, expires_on=expires_on)
        self._expire_due(wh)
        self._put(wh, code, units)
        self.net_in += units

    @rule(wh=WAREHOUSES, delta=st.integers(min_value=-6, max_value=6).filter(bool), code=st.none() | CODES,
          days=EXPIRES)
    def adjust(self, wh, delta, code, days):
        self.clock.shift(timedelta(minutes=1))
        warehouse = getattr(self.world, wh)
        if delta > 0:
            code = code or "L3"
            adjust_stock(actor=self.world.admin, warehouse=warehouse, product=self.product, delta=delta,
                         reason="found", lot=code, expires_on=self._expires_on(code, days))
            self._expire_due(wh)
            self._put(wh, code, delta)
            self.net_in += delta
            return
        units = -delta
        if code is None:  # FEFO from lots that are not expired, within `available`
            ok = self.has_row(wh) and units <= self.available(wh)
            reason = "damage"
        elif code not in self.expiry:  # a lot the product does not have holds nothing
            ok, reason = False, "damage"
        else:  # a named lot: its balance; an expired one within quantity − reserved (promises stay covered)
            reserved = self.held(wh, counting_due=False) + self.transit_held(wh)
            limit = self.on_hand[wh] - reserved - (0 if self._expired(code) else self.expired(wh))
            ok = self.has_row(wh) and units <= max(0, min(self.lots[wh].get(code, 0), limit))
            reason = "expired" if self._expired(code) else "damage"
        if self.attempt(ok, lambda: adjust_stock(actor=self.world.admin, warehouse=warehouse, product=self.product,
                                                 delta=delta, reason=reason, lot=code)):
            self._expire_due(wh)
            if code is None:
                self._take_fefo(wh, units)
            else:
                self.lots[wh][code] -= units
                self.on_hand[wh] -= units
            self.net_in -= units

    # --- units going out take FEFO ---
    # Preconditions steer the few steps towards documents that exist (ship something approved, receive
    # something shipped), so a short run reaches every path.
    @precondition(lambda self: self.holds)
    @rule(data=st.data(), part=st.booleans())
    def fulfil(self, data, part):
        self.clock.shift(timedelta(minutes=1))
        pk = self._pick(data)
        if pk is None:
            return
        wh, units, expires_at = self.holds[pk]
        taken = data.draw(st.integers(min_value=1, max_value=units)) if part else units
        due = self.is_due(expires_at)
        ok = not due and taken <= self.limit_holding(wh, units)
        try:
            fulfil_reservation(actor=self.world.staff_a if wh == "wh_a" else self.world.staff_b,
                               reservation_id=pk, quantity=taken)
        except DomainError as error:
            assert not ok and error.code == ("not_active" if due else "insufficient_stock"), error.code
            return
        assert ok, "fulfilled although the model said too few units were not expired"
        self._expire_due(wh)
        del self.holds[pk]
        self._take_fefo(wh, taken)
        self.net_in -= taken

    @rule(wh=WAREHOUSES, units=UNITS)
    def approve_purchase(self, wh, units):
        self.clock.shift(timedelta(minutes=1))
        purchase = create_purchase_request(actor=self.world.viewer, warehouse=getattr(self.world, wh),
                                           product=self.product, quantity=units)
        ok = self.has_row(wh) and units <= self.available(wh)
        if self.attempt(ok, lambda: decide_purchase_request(actor=self.world.admin, request_id=purchase.pk,
                                                            decision="approve")):
            self._expire_due(wh)
            self._take_fefo(wh, units)
            self.net_in -= units

    @rule(source=WAREHOUSES, units=UNITS)
    def approve_transfer(self, source, units):
        self.clock.shift(timedelta(minutes=1))
        destination = self._other(source)
        transfer = create_transfer_request(actor=self.world.admin, source=getattr(self.world, source),
                                           destination=getattr(self.world, destination), product=self.product,
                                           quantity=units)
        ok = self.has_row(source) and units <= self.available(source)
        if self.attempt(ok, lambda: decide_transfer_request(actor=self.world.admin, request_id=transfer.pk,
                                                            decision="approve")):
            self._expire_due(source)
            self._expire_due(destination)
            for code, share in self._take_fefo(source, units):  # the same lots arrive
                self._put(destination, code, share)

    @precondition(lambda self: self.transit_holds)
    @rule(data=st.data())
    def ship(self, data):
        if not self.transit_holds:
            return
        pk = data.draw(st.sampled_from(sorted(self.transit_holds)))
        source, units = self.transit_holds[pk]
        destination = self._other(source)
        ok = units <= self.limit_holding(source, units)
        try:
            ship_transfer(actor=self.world.staff_a if source == "wh_a" else self.world.staff_b, transfer_id=pk)
        except DomainError as error:  # lots expired since approval: it stays approved, holding its units
            assert not ok and error.code == "insufficient_stock", error.code
            return
        assert ok, "shipped although the model said too few units were not expired"
        del self.transit_holds[pk]
        self._expire_due(source)
        self._expire_due(destination)
        self.flight_lots[pk] = self._take_fefo(source, units)
        self.incoming[destination] += units
        self.in_flight[pk] = (destination, TransferLine.objects.get(transfer_id=pk).pk, units)

    @rule(source=WAREHOUSES, units=UNITS, data=st.data())
    def approve_and_ship(self, source, units, data):
        """An in-transit transfer approved and shipped at once (so a short run has units on the road)."""
        before = set(self.transit_holds)
        self.approve_in_transit(source, units)
        if set(self.transit_holds) - before:
            self.ship(data)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data(), named=st.booleans())
    def receive(self, data, named):
        if not self.in_flight:
            return
        pk = data.draw(st.sampled_from(sorted(self.in_flight)))
        destination, line, outstanding = self.in_flight[pk]
        entries = self.flight_lots[pk]
        receipt = {"line": line}
        if named:
            index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
            room = entries[index][1]
            receipt["lot"] = entries[index][0].lower()  # compared like SKUs
        else:
            room = outstanding
        total = data.draw(st.integers(min_value=1, max_value=room + 1))
        rejected = data.draw(st.integers(min_value=0, max_value=total))
        staff = self.world.staff_a if destination == "wh_a" else self.world.staff_b
        try:
            receive_transfer(actor=staff, transfer_id=pk,
                             receipts=[{**receipt, "accepted": total - rejected, "rejected": rejected}])
        except DomainError as error:
            assert total > room and error.code == "invalid_quantity", error.code
            return
        assert total <= room
        self._expire_due(destination)
        # The model's fill: the named lot, or the lots in the order shipped (accepted first, then rejected).
        targets = [entries[index]] if named else entries
        for units, accepted in ((total - rejected, True), (rejected, False)):
            for entry in targets:
                share = min(units, entry[1])
                entry[1] -= share
                units -= share
                if accepted and share:
                    self._put(destination, entry[0], share)
                elif share:
                    self.lost_lots[entry[0]] = self.lost_lots.get(entry[0], 0) + share
        self.incoming[destination] -= total
        self.lost += rejected
        if total == outstanding:
            del self.in_flight[pk]
        else:
            self.in_flight[pk] = (destination, line, outstanding - total)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def close(self, data):
        if not self.in_flight:
            return
        pk = data.draw(st.sampled_from(sorted(self.in_flight)))
        destination, _, outstanding = self.in_flight.pop(pk)
        close_transfer(actor=self.world.admin, transfer_id=pk, reason="lost")
        self._expire_due(destination)
        for code, units in self.flight_lots.pop(pk):
            self.lost_lots[code] = self.lost_lots.get(code, 0) + units
        self.incoming[destination] -= outstanding
        self.lost += outstanding

    @rule(days=st.integers(min_value=1, max_value=2))
    def next_day(self, days):
        """Whole days pass: lots expire (and every reservation's `expires_at`, minutes ahead, falls due)."""
        self.clock.shift(timedelta(days=days))

    # --- after every step ---
    @invariant()
    def lot_balances_equal_the_model_and_their_movements(self):
        for stock in Stock.objects.filter(product=self.product):
            wh = "wh_a" if stock.warehouse_id == self.world.wh_a.pk else "wh_b"
            balances = dict(StockLot.objects.filter(stock=stock).values_list("lot__code", "quantity"))
            assert {code: units for code, units in balances.items() if units} == \
                {code: units for code, units in self.lots[wh].items() if units}
            assert sum(balances.values()) == stock.quantity
            assert 0 <= stock.reserved <= stock.quantity
            ledger = dict(StockMovement.objects.filter(stock=stock).values_list("lot__code")
                          .annotate(total=Sum("quantity_change")).order_by())
            assert None not in ledger, "every movement of a lot-tracked product names its lot"
            assert {code: total for code, total in ledger.items() if total} == \
                {code: units for code, units in balances.items() if units}

    @invariant()
    def lots_are_conserved_across_transit(self):
        """Per lot: on hand + in transit + lost = what the lot's entries and the model say."""
        rows = TransferLineLot.objects.filter(line__product=self.product)
        lost = dict(rows.values_list("lot__code").annotate(r=Sum("rejected")).order_by())
        assert {code: units for code, units in lost.items() if units} == \
            {code: units for code, units in self.lost_lots.items() if units}
        outstanding = dict(rows.values_list("lot__code")
                           .annotate(o=Sum("shipped") - Sum("received") - Sum("rejected")).order_by())
        in_flight = {}
        for entries in self.flight_lots.values():
            for code, units in entries:
                in_flight[code] = in_flight.get(code, 0) + units
        assert {code: units for code, units in outstanding.items() if units} == \
            {code: units for code, units in in_flight.items() if units}
        for line in TransferLine.objects.filter(product=self.product, shipped_quantity__gt=0):
            totals = TransferLineLot.objects.filter(line=line).aggregate(
                s=Sum("shipped"), r=Sum("received"), j=Sum("rejected"))
            assert (totals["s"], totals["r"], totals["j"]) == (line.shipped_quantity, line.received_quantity,
                                                              line.rejected_quantity)


@pytest.mark.django_db
def test_the_stock_services_keep_every_lot_balance_equal_to_its_sources(world):
    LotMachine.world = world
    run_state_machine_as_test(LotMachine, settings=settings(
        max_examples=6, stateful_step_count=30, derandomize=True, deadline=None, database=None,
    ))
