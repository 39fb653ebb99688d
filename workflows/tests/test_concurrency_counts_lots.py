"""Counts, tracking switches and lot-creating imports under real concurrency (PostgreSQL, real threads).

- A count that is adding lines for a product holds the product row FOR SHARE: a tracking switch (here through
  the product file) waits for it, then sees the count's line and refuses; a count opened during a switch waits
  for it, then reads the new tracking. No count ever straddles a switch.
- Imports creating the same new lots, named in opposite orders, never deadlock (lots are created in product and
  code order, before any stock row is locked).
"""

import threading
import time

import pytest
from django.db import transaction

from core.testing import outcomes, run_threads
from inventory.errors import InvalidFile
from inventory.lots import Lot, StockLot
from inventory.models import Product
from inventory.services.files import import_products, import_stock
from inventory.tests.factories import ProductFactory
from workflows.models import StockCountLine
from workflows.services import open_count

WAIT = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_switch_through_the_product_file_waits_for_a_count_opening_and_then_refuses(world):
    product = ProductFactory(sku="SW-1")  # not lot-tracked, no stock: nothing else refuses the switch
    opened, release, done = threading.Event(), threading.Event(), threading.Event()
    finished_before_release = []

    def work(index):
        if index == 0:
            with transaction.atomic():
                count = open_count(actor=world.admin, warehouse=world.wh_a, products=[product])
                opened.set()
                release.wait(WAIT)
            return count
        if index == 1:
            opened.wait(WAIT)
            try:
                return import_products(actor=world.admin, binary=[b"sku,name,tracking\nSW-1,Switch,lot\n"])
            finally:
                done.set()
        opened.wait(WAIT)
        time.sleep(0.5)  # the switch has started and is waiting for the count's share lock
        finished_before_release.append(done.is_set())
        release.set()
        return None

    results = run_threads(3, work)
    assert isinstance(results[1], InvalidFile), results[1]
    assert [(e["row"], e["field"], e["code"]) for e in results[1].extra["errors"]] == [
        (2, "tracking", "product_has_stock")]
    assert finished_before_release == [False]
    assert product_tracking(product) == "none"
    assert StockCountLine.objects.get(count=results[0]).lot_id is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_count_opened_during_a_switch_waits_and_counts_by_the_new_tracking(world):
    product = ProductFactory(sku="SW-2")
    switched, release, done = threading.Event(), threading.Event(), threading.Event()
    finished_before_release = []

    def work(index):
        if index == 0:
            with transaction.atomic():
                result = import_products(actor=world.admin, binary=[b"sku,name,tracking\nSW-2,Switch,lot\n"])
                switched.set()
                release.wait(WAIT)
            return result
        if index == 1:
            switched.wait(WAIT)
            try:
                return open_count(actor=world.admin, warehouse=world.wh_a, products=[product])
            finally:
                done.set()
        switched.wait(WAIT)
        time.sleep(0.5)  # the count has started and is waiting for the switch's product lock
        finished_before_release.append(done.is_set())
        release.set()
        return None

    results = run_threads(3, work)
    assert all(kind == "ok" for kind, _ in outcomes(results)), outcomes(results)
    assert finished_before_release == [False]
    assert product_tracking(product) == "lot"
    # Lot-tracked with no units: no line until a lot is found (an untracked product would have one line).
    assert not StockCountLine.objects.filter(count=results[1]).exists()


def product_tracking(product) -> str:
    return Product.objects.values_list("tracking", flat=True).get(pk=product.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_imports_creating_the_same_new_lots_in_opposite_orders_never_deadlock(world):
    milk = ProductFactory(sku="MILK-C", tracking=Product.Tracking.LOT)
    codes = [f"N-{index}" for index in range(6)]

    def work(index):
        order = codes if index % 2 else codes[::-1]
        rows = "".join(f"{'A' if index % 3 else 'B'},MILK-C,{code},2030-01-0{1 + int(code[-1])},1\n"
                       for code in order)
        return import_stock(actor=world.admin,
                            binary=[f"warehouse_code,sku,lot,expires_on,quantity\n{rows}".encode()])

    results = run_threads(6, work)
    assert all(kind == "ok" for kind, _ in outcomes(results)), outcomes(results)
    assert sorted(Lot.objects.filter(product=milk).values_list("code", flat=True)) == codes
    assert sum(StockLot.objects.filter(lot__product=milk).values_list("quantity", flat=True)) == 36
