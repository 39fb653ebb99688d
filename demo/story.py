"""The demo story: eight weeks of a small trade told through the real services, ending in work for every role.

Every step is a call of `inventory.services` or `workflows.services`, made by the account whose job it
is, so the ledger, the daily roll-up, the audit trail, alerts, reservations and tasks are exactly what
real use would have left. The services stamp `timezone.now()`; each step runs with the clock moved to
its moment (`time_machine.travel`, the same library the tests use), in time order, so ledger ids and
timestamps agree. Nothing is written behind the services' backs.

The story (`HISTORY_DAYS` days ending yesterday, then the last hour before now):

- day one: the admin assigns the opening stock, the managers set the low-stock thresholds;
- every day: the viewer asks for goods (purchase requests) that the warehouse's staff approve (some they
  reject), staff reserve units for orders and fulfil them, record the weekday supplier delivery of
  their lowest shelf and any delivery a shelf needs before it runs low (`receipt`), and now and
  then damage, loss or a found box; weekdays are busy, Saturdays quiet, Sundays nearly closed;
- weekly a manager asks for a direct transfer that the admin approves; fortnightly an in-transit
  transfer is approved, shipped and received in full; one stock count is submitted with a difference
  and approved by the manager;
- left open for the newcomer: purchase requests pending for each warehouse's staff or manager, an
  in-transit transfer request pending for the admin, an in-transit transfer shipped yesterday and
  partly received within the hour, active reservations, a submitted count awaiting the warehouse's
  manager (not its submitter), and one open low-stock alert whose e-mail the worker sends;
- lots and expiry (SPEC §14): the lot-tracked products (`Cast.lot_products`) come in by lot through
  `assign_stock` (dated lots, one long past its last day, some near it, and undated lots), sales and an
  order take them first-expired-first-out, and the worker's expiry check (run each night of the history
  and within the last hour) opens the expiry alerts of the lots that came within EXPIRY_WARNING_DAYS,
  each e-mail queued for the worker; NORTH still holds units of the expired lot (`expired` on its row);
- replenishment (SPEC §15): NORTH's manager sets a reorder rule just now, a sale takes the shelf below
  its minimum, and the rule's transfer request waits for the admin (`reorder_rule` set).

History never takes a shelf below its threshold (a delivery comes first), so the one open alert is
the scene's. Deterministic for a given random seed and moment.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import time_machine
from django.utils import timezone

from accounts.models import User
from inventory import expiry_checks, rollups
from inventory import services as stock_services
from inventory.models import LowStockThreshold, Product, Stock
from warehouses.models import Warehouse
from workflows import services as flows
from workflows.models import TransferMode

HISTORY_DAYS = 56
# Customer requests per day, Monday first: a working week, a quiet Saturday, a nearly closed Sunday.
REQUESTS_PER_DAY = ((6, 9), (6, 9), (6, 9), (7, 10), (8, 11), (2, 3), (1, 1))
OPENING_HOURS = (time(7), time(18))
# Before a shelf would fall within this many units of its threshold, a delivery is recorded.
MARGIN = 5
THRESHOLDS = (10, 25, 50)


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    act: Callable[[], None] = field(compare=False)


@dataclass
class Cast:
    """The demo's accounts, warehouses (by code) and products (by SKU)."""

    users: dict[str, User]
    warehouses: dict[str, Warehouse]
    products: dict[str, Product]
    # Lot-tracked products (SPEC §14), kept apart: the daily trade and its deliveries name no lot.
    lot_products: dict[str, Product] = field(default_factory=dict)

    @property
    def admin(self) -> User:
        return self.users["admin"]

    @property
    def viewer(self) -> User:
        return self.users["viewer"]

    def staff(self, code: str) -> User:
        return self.users[f"staff.{code.lower()}"]

    def manager(self, code: str) -> User:
        return self.users["manager.north" if code == "NORTH" else "manager.south"]


def already_told(cast: Cast) -> bool:
    """The story is told once: any stock in the demo warehouses means it (or an older demo) is there."""
    return Stock.objects.filter(warehouse__in=cast.warehouses.values()).exists()


class Story:
    """Builds the timeline of steps, then plays it in time order with the clock moved to each step."""

    def __init__(self, cast: Cast, rng: random.Random, *, now: datetime | None = None):
        self.cast, self.rng = cast, rng
        self.now = now or timezone.now()
        self.tz = timezone.get_default_timezone()
        self.today = timezone.localdate(self.now, timezone=self.tz)
        self.first_day = self.today - timedelta(days=HISTORY_DAYS)
        self.steps: list[_Step] = []
        self.thresholds: dict[tuple[int, int], int] = {}
        self.played = 0

    # --- the timeline ----------------------------------------------------------------------------

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def ago(self, minutes: int) -> datetime:
        """A moment `minutes` before now: the scene that leaves work open happens just before the newcomer comes."""
        return self.now - timedelta(minutes=minutes)

    def add(self, at: datetime, act: Callable[[], None]) -> None:
        self.steps.append(_Step(at, len(self.steps), act))

    def play(self) -> int:
        for step in sorted(self.steps):
            if step.at >= self.now:  # never write the future: real use goes on from now
                raise RuntimeError(f"demo step at {step.at} is not in the past")
            with time_machine.travel(step.at, tick=False):
                step.act()
            self.played += 1
        return self.played

    def tell(self) -> int:
        self.opening()
        for n in range(HISTORY_DAYS):
            self.trading_day(self.first_day + timedelta(days=n))
        self.scripted()
        self.lots()
        self.scene()
        played = self.play()
        rollups.close_days([self.first_day + timedelta(days=n) for n in range(HISTORY_DAYS)])
        return played

    # --- helpers over the current balances -----------------------------------------------------------

    def stock(self, warehouse: Warehouse, product: Product) -> Stock:
        return Stock.objects.get(warehouse=warehouse, product=product)

    def free(self, warehouse: Warehouse, product: Product) -> int:
        """Units neither reserved nor promised: what may still leave before the threshold matters."""
        stock = self.stock(warehouse, product)
        return stock.quantity - stock.reserved

    def make_room(self, warehouse: Warehouse, product: Product, out: int) -> None:
        """Record a delivery first if taking `out` would bring the shelf near its threshold."""
        threshold = self.thresholds.get((warehouse.pk, product.pk))
        if threshold is None:  # a lot-tracked product: its lots come in by the lots story, with their codes
            return
        if self.free(warehouse, product) - out >= threshold + MARGIN:
            return
        delivered = self.rng.randint(2, 4) * threshold + out + 20
        stock_services.adjust_stock(actor=self.cast.staff(warehouse.code), warehouse=warehouse, product=product,
                                    delta=delivered, reason="receipt", note="supplier delivery (demo)")

    def pick(self) -> tuple[Warehouse, Product]:
        warehouses = list(self.cast.warehouses.values())
        products = list(self.cast.products.values())
        # A few fast movers: the first five products are asked for three times as often.
        weights = [3 if n < 5 else 1 for n in range(len(products))]
        return self.rng.choice(warehouses), self.rng.choices(products, weights=weights)[0]

    # --- day one ---------------------------------------------------------------------------------------

    def opening(self) -> None:
        day = self.first_day
        cast, rng = self.cast, self.rng
        for code, warehouse in cast.warehouses.items():
            for product in cast.products.values():
                quantity, threshold = rng.randint(120, 400), rng.choice(THRESHOLDS)
                self.thresholds[(warehouse.pk, product.pk)] = threshold

                def assign(warehouse=warehouse, product=product, quantity=quantity):
                    stock_services.assign_stock(actor=cast.admin, warehouse=warehouse, product=product,
                                                quantity=quantity, note="opening stock (demo)")

                def threshold_(code=code, warehouse=warehouse, product=product, threshold=threshold):
                    if not LowStockThreshold.objects.filter(warehouse=warehouse, product=product).exists():
                        stock_services.set_threshold(actor=cast.manager(code), warehouse=warehouse,
                                                     product=product, threshold=threshold)

                self.add(self.at(day, 6), assign)
                self.add(self.at(day, 6, 30), threshold_)

    # --- a trading day ---------------------------------------------------------------------------------

    def trading_day(self, day: date) -> None:
        rng = self.rng
        low, high = REQUESTS_PER_DAY[day.weekday()]
        if day.weekday() < 5:  # the supplier's truck: each weekday one warehouse, in turn, restocks its lowest shelf
            codes = list(self.cast.warehouses)
            self.add(self.at(day, 7, 30), self._delivery(codes[day.toordinal() % len(codes)]))
        start, end = (self.at(day, t.hour) for t in OPENING_HOURS)
        span = int((end - start).total_seconds() // 60)
        for n, minute in enumerate(sorted(rng.sample(range(span - 120), rng.randint(low, high)))):
            at = start + timedelta(minutes=minute)
            warehouse, product = self.pick()
            roll = 0 if n == 0 else rng.random()  # the day's first request is a sale, approved: no day is empty
            if roll < 0.60:
                self.sale(at, warehouse, product, quantity=rng.randint(2, 20), reject=n > 0 and rng.random() < 0.1)
            elif roll < 0.85:
                self.order(at, warehouse, product, quantity=rng.randint(3, 16), release=rng.random() < 0.15)
            else:
                self.mishap(at, warehouse, product)

    def sale(self, at: datetime, warehouse: Warehouse, product: Product, *, quantity: int, reject: bool,
             wait: timedelta = timedelta(minutes=40)) -> None:
        """The viewer asks; the warehouse's staff decide a little later."""
        cast, holder = self.cast, {}

        def ask():
            holder["request"] = flows.create_purchase_request(actor=cast.viewer, warehouse=warehouse, product=product,
                                                              quantity=quantity, reason="customer order (demo)")

        def decide():
            if reject:
                flows.decide_purchase_request(actor=cast.staff(warehouse.code), request_id=holder["request"].pk,
                                              decision="reject", reason="customer changed the order")
                return
            self.make_room(warehouse, product, quantity)
            flows.decide_purchase_request(actor=cast.staff(warehouse.code), request_id=holder["request"].pk,
                                          decision="approve")

        self.add(at, ask)
        self.add(at + wait, decide)

    def order(self, at: datetime, warehouse: Warehouse, product: Product, *, quantity: int, release: bool) -> None:
        """Staff reserve units for an order and pick it (or the order falls through) two hours later."""
        staff, holder = self.cast.staff(warehouse.code), {}

        def reserve():
            self.make_room(warehouse, product, quantity)
            holder["reservation"] = stock_services.reserve_stock(
                actor=staff, warehouse=warehouse, product=product, quantity=quantity,
                reference=f"SO-{at:%y%m%d}-{at:%H%M}", note="order (demo)")

        def close():
            if release:
                stock_services.release_reservation(actor=staff, reservation_id=holder["reservation"].pk)
            else:
                stock_services.fulfil_reservation(actor=staff, reservation_id=holder["reservation"].pk)

        self.add(at, reserve)
        self.add(at + timedelta(hours=2), close)

    def _delivery(self, code: str):
        warehouse, staff = self.cast.warehouses[code], self.cast.staff(code)

        def deliver():
            rows = [row for row in Stock.objects.filter(warehouse=warehouse).select_related("product")
                    .order_by("product_id") if (warehouse.pk, row.product_id) in self.thresholds]  # not the lots'
            lowest = sorted(rows, key=lambda row: row.quantity / self.thresholds[(warehouse.pk, row.product_id)])[:1]
            for stock in lowest:
                threshold = self.thresholds[(warehouse.pk, stock.product_id)]
                stock_services.adjust_stock(actor=staff, warehouse=warehouse, product=stock.product,
                                            delta=self.rng.randint(1, 3) * threshold, reason="receipt",
                                            note="scheduled supplier delivery (demo)")
        return deliver

    def mishap(self, at: datetime, warehouse: Warehouse, product: Product) -> None:
        """A delivery, a return, or a small loss found on the shelf."""
        rng, staff = self.rng, self.cast.staff(warehouse.code)
        reason = rng.choice(["receipt", "receipt", "damage", "loss", "found", "return"])

        def act():
            if reason == "receipt":
                delta = rng.randint(40, 150)
            elif reason in ("damage", "loss"):
                delta = -rng.randint(1, 4)
                self.make_room(warehouse, product, -delta)
            else:
                delta = rng.randint(1, 5)
            stock_services.adjust_stock(actor=staff, warehouse=warehouse, product=product, delta=delta,
                                        reason=reason, note=f"{reason} (demo)")

        self.add(at, act)

    # --- the weekly and one-off documents ---------------------------------------------------------------

    def transfer(self, *, requested: datetime, source: str, destination: str, lines: list[tuple[str, int]],
                 mode: str, by: str, ship: datetime | None = None, receive: datetime | None = None,
                 partial: bool = False, decide: bool = True) -> None:
        """A manager asks; the admin approves an hour later; (in transit) the source ships, the destination receives."""
        cast, holder = self.cast, {}
        src, dst = cast.warehouses[source], cast.warehouses[destination]
        units = [(cast.products[sku], quantity) for sku, quantity in lines]

        def ask():
            holder["transfer"] = flows.create_transfer_request(
                actor=cast.users[by], source=src, destination=dst, lines=units, mode=mode,
                reason=f"rebalance {source} -> {destination} (demo)")

        def approve():
            for product, quantity in units:
                self.make_room(src, product, quantity)
            flows.decide_transfer_request(actor=cast.admin, request_id=holder["transfer"].pk, decision="approve")

        def ship_():
            flows.ship_transfer(actor=cast.staff(source), transfer_id=holder["transfer"].pk)

        def receive_():
            transfer = holder["transfer"]
            lines = list(transfer.lines.order_by("pk"))
            if partial:  # the first line in full, half of the second, the rest still on the truck
                accepted = [lines[0].quantity, lines[1].quantity // 2]
            else:
                accepted = [line.quantity for line in lines]
            receipts = [{"line": line.pk, "accepted": units, "rejected": 0}
                        for line, units in zip(lines, accepted, strict=False)]
            flows.receive_transfer(actor=cast.staff(destination), transfer_id=transfer.pk, receipts=receipts)

        self.add(requested, ask)
        if decide:
            self.add(requested + timedelta(hours=1), approve)
        if ship:
            self.add(ship, ship_)
        if receive:
            self.add(receive, receive_)

    def scripted(self) -> None:
        codes = list(self.cast.warehouses)
        skus = list(self.cast.products)
        for week in range(HISTORY_DAYS // 7):
            monday = self.first_day + timedelta(days=7 - self.first_day.weekday() + 7 * week)
            if monday >= self.today - timedelta(days=2):
                break
            source, destination = self.rng.sample(codes, 2)
            manager = "manager.north" if "NORTH" in (source, destination) else "manager.south"
            self.transfer(requested=self.at(monday + timedelta(days=2), 16, 10), source=source,
                          destination=destination, mode=TransferMode.DIRECT, by=manager,
                          lines=[(sku, self.rng.randint(10, 30)) for sku in self.rng.sample(skus, 2)])
            thursday = monday + timedelta(days=3)
            if week % 2 == 1 and thursday + timedelta(days=4) < self.today:
                self.transfer(requested=self.at(thursday, 16, 20), source="SOUTH", destination="EAST",
                              mode=TransferMode.IN_TRANSIT, by="manager.south",
                              lines=[(sku, self.rng.randint(20, 40)) for sku in self.rng.sample(skus, 3)],
                              ship=self.at(thursday + timedelta(days=1), 16, 30),
                              receive=self.at(thursday + timedelta(days=4), 16, 40))
        self.count_in_history(self.today - timedelta(days=17))

    def count_in_history(self, day: date) -> None:
        """SOUTH's staff count four products, one box short; the manager approves the difference next morning."""
        cast, holder = self.cast, {}
        warehouse = cast.warehouses["SOUTH"]
        products = list(cast.products.values())[5:9]

        def count():
            for product in products:
                self.make_room(warehouse, product, 1)
            opened = flows.open_count(actor=cast.staff("SOUTH"), warehouse=warehouse, products=products,
                                      note="monthly cycle count (demo)")
            lines = list(opened.lines.order_by("pk"))
            counted = {line.pk: line.expected - (1 if n == 0 else 0) for n, line in enumerate(lines)}
            flows.record_counts(actor=cast.staff("SOUTH"), count_id=opened.pk, counts=counted)
            holder["count"] = flows.submit_count(actor=cast.staff("SOUTH"), count_id=opened.pk)

        def approve():
            flows.decide_count(actor=cast.manager("SOUTH"), count_id=holder["count"].pk, decision="approve",
                               reason="one box found damaged and binned")

        self.add(self.at(day, 17, 50), count)
        self.add(self.at(day + timedelta(days=1), 6, 45), approve)

    # --- lots and expiry (SPEC §14) ----------------------------------------------------------------------

    def lots(self) -> None:
        """Sealant by dated lots at NORTH and SOUTH, harnesses by undated lots at EAST; the nightly expiry check."""
        if not self.cast.lot_products:
            return
        day = lambda n: self.first_day + timedelta(days=n)  # noqa: E731
        expires = {"SIL-2409": self.today - timedelta(days=4),  # its last day was four days ago
                   "SIL-2411": self.today + timedelta(days=18),  # within the warning window now
                   "SIL-2502": self.today + timedelta(days=150),
                   "HF-2407": None, "HF-2410": None}  # harnesses: lots for recalls, no expiry
        arrivals = [  # (day, warehouse, sku, lot, units, by)
            (0, "NORTH", "SEAL-310", "SIL-2409", 48, "admin"), (0, "NORTH", "SEAL-310", "SIL-2411", 60, "admin"),
            (0, "SOUTH", "SEAL-310", "SIL-2411", 36, "admin"), (0, "EAST", "HARNESS-FA", "HF-2407", 20, "admin"),
            (28, "NORTH", "SEAL-310", "SIL-2502", 48, "manager.north"),
            (30, "EAST", "HARNESS-FA", "HF-2410", 15, "manager.south"),
            (35, "SOUTH", "SEAL-310", "SIL-2502", 24, "manager.south"),
        ]
        for n, code, sku, lot, units, by in arrivals:
            self.add(self.at(day(n), 6, 10), self._lot_arrives(code, sku, lot, expires[lot], units, by))
        # Sales (purchase approvals) and orders take FEFO: NORTH's old lot is sold down but 12 units outlive it.
        for n, code, sku, units in ((3, "NORTH", "SEAL-310", 6), (10, "NORTH", "SEAL-310", 8),
                                    (17, "NORTH", "SEAL-310", 5), (24, "NORTH", "SEAL-310", 7),
                                    (54, "NORTH", "SEAL-310", 12), (12, "SOUTH", "SEAL-310", 8),
                                    (38, "SOUTH", "SEAL-310", 6), (33, "EAST", "HARNESS-FA", 6)):
            self.sale(self.at(day(n), 11, 15), self.cast.warehouses[code], self.cast.lot_products[sku],
                      quantity=units, reject=False)
        for n, code, sku, units in ((45, "NORTH", "SEAL-310", 10), (8, "EAST", "HARNESS-FA", 4)):
            self.order(self.at(day(n), 13, 5), self.cast.warehouses[code], self.cast.lot_products[sku],
                       quantity=units, release=False)
        # The worker's expiry check: each night of the history, and once within the last hour.
        for n in range(HISTORY_DAYS):
            self.add(self.at(day(n), 0, 20), self._expiry_check)
        self.add(self.ago(55), self._expiry_check)

    def _lot_arrives(self, code: str, sku: str, lot: str, expires_on: date | None, units: int, by: str):
        cast = self.cast

        def assign():
            stock_services.assign_stock(actor=cast.users[by], warehouse=cast.warehouses[code],
                                        product=cast.lot_products[sku], quantity=units, lot=lot,
                                        expires_on=expires_on, note=f"lot {lot} received (demo)")
        return assign

    @staticmethod
    def _expiry_check() -> None:
        """What the worker's `check_expiry` task does (without queueing its next run): announce the day
        change, open the alerts of lots that came into the warning window (their e-mails queued)."""
        expiry_checks.announce_day_change()
        expiry_checks.sweep_alerts()

    # --- just now: work left open for every role -------------------------------------------------------

    def scene(self) -> None:
        cast, today = self.cast, self.today
        products = cast.products
        # An in-transit transfer NORTH -> EAST, approved two days ago, shipped yesterday, partly received now.
        self.transfer(requested=self.at(today - timedelta(days=2), 17, 0), source="NORTH", destination="EAST",
                      mode=TransferMode.IN_TRANSIT, by="manager.south",
                      lines=[("BOX-M", 40), ("TAPE-50", 24), ("GLOVE-L", 30)],
                      ship=self.at(today - timedelta(days=1), 17, 30), receive=self.ago(50), partial=True)
        # Pending for the admin: SOUTH -> NORTH, asked by NORTH's manager.
        self.transfer(requested=self.ago(45), source="SOUTH", destination="NORTH",
                      mode=TransferMode.IN_TRANSIT, by="manager.north",
                      lines=[("PALLET-EU", 20), ("WRAP-500", 12)], decide=False)
        # Pending purchase requests, one per warehouse, for its staff or manager to decide.
        for minutes, (code, sku, quantity) in zip((40, 38, 36), (("NORTH", "DRILL-18V", 3),
                                                                ("SOUTH", "HELMET-W", 10),
                                                                ("EAST", "LABEL-A6", 6)), strict=True):
            self.add(self.ago(minutes), self._ask(code, sku, quantity))
        # Active reservations, held for a few days.
        for minutes, (code, sku, quantity, days) in zip((34, 32, 30), (("NORTH", "BOLT-M8", 12, 3),
                                                                      ("SOUTH", "VEST-HV", 8, 5),
                                                                      ("EAST", "BOX-S", 25, 2)), strict=True):
            self.add(self.ago(minutes), self._reserve(code, products[sku], quantity, days))
        # A count NORTH's staff submitted with differences: it waits for NORTH's manager (or the admin).
        self.add(self.ago(25), self._submitted_count())
        # The morning's big order takes EAST's CABLE-3G below its threshold: the alert opens, its e-mail is queued.
        self.add(self.ago(20), self._below_threshold("EAST", "CABLE-3G"))
        # NORTH's manager sets a reorder rule on GLOVE-M (from SOUTH); a sale takes the shelf below its minimum
        # and the rule's transfer request is created, pending for the admin.
        self.add(self.ago(35), self._reorder_rule("NORTH", "GLOVE-M", source="SOUTH", sale=12))
        self.sale(self.ago(30), self.cast.warehouses["NORTH"], products["GLOVE-M"], quantity=12, reject=False,
                  wait=timedelta(minutes=14))

    def _reorder_rule(self, code: str, sku: str, *, source: str, sale: int):
        cast, warehouse, product = self.cast, self.cast.warehouses[code], self.cast.products[sku]

        def create():
            self.make_room(warehouse, product, sale)  # the sale to come needs no delivery (nor opens an alert)
            stock = self.stock(warehouse, product)
            projected = stock.quantity - stock.reserved + stock.incoming  # no lots, no transfer on its way in
            minimum = max(0, projected - sale // 2)  # met now; the sale takes the shelf below it
            flows.create_rule(actor=cast.manager(code), warehouse=warehouse, product=product,
                              source_warehouse=cast.warehouses[source], min_quantity=minimum,
                              max_quantity=minimum + 100, multiple=10)
        return create

    def _ask(self, code: str, sku: str, quantity: int):
        def ask():
            flows.create_purchase_request(actor=self.cast.viewer, warehouse=self.cast.warehouses[code],
                                          product=self.cast.products[sku], quantity=quantity,
                                          reason="customer order (demo)")
        return ask

    def _reserve(self, code: str, product: Product, quantity: int, days: int):
        warehouse = self.cast.warehouses[code]

        def reserve():
            self.make_room(warehouse, product, quantity)
            stock_services.reserve_stock(actor=self.cast.staff(code), warehouse=warehouse, product=product,
                                         quantity=quantity, expires_at=timezone.now() + timedelta(days=days),
                                         reference=f"SO-{code}-{days}{quantity}", note="order (demo)")
        return reserve

    def _submitted_count(self):
        cast, warehouse = self.cast, self.cast.warehouses["NORTH"]
        products = [cast.products[sku] for sku in ("NUT-M6", "NUT-M8", "WASH-M6")]

        def count():
            staff = cast.staff("NORTH")
            opened = flows.open_count(actor=staff, warehouse=warehouse, products=products,
                                      note="spot check of the fasteners aisle (demo)")
            lines = list(opened.lines.order_by("pk"))
            counted = {line.pk: line.expected + delta for line, delta in zip(lines, (-3, 0, 2), strict=True)}
            flows.record_counts(actor=staff, count_id=opened.pk, counts=counted)
            flows.submit_count(actor=staff, count_id=opened.pk)
        return count

    def _below_threshold(self, code: str, sku: str):
        cast, warehouse, product = self.cast, self.cast.warehouses[code], self.cast.products[sku]

        def order():
            threshold = self.thresholds[(warehouse.pk, product.pk)]
            quantity = self.free(warehouse, product) - threshold + 2  # leaves threshold - 2 on the shelf
            request = flows.create_purchase_request(actor=cast.viewer, warehouse=warehouse, product=product,
                                                    quantity=quantity, reason="site fit-out order (demo)")
            flows.decide_purchase_request(actor=cast.staff(code), request_id=request.pk, decision="approve")
        return order
