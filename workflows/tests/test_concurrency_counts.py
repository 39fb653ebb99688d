"""Counts and imports under real concurrency (PostgreSQL): one decision wins, batches never deadlock."""

import pytest

from core.testing import outcomes, run_threads
from inventory.models import Stock, StockMovement
from inventory.services import adjust_stock, assign_stock
from inventory.services.files import import_stock
from inventory.tests.factories import ProductFactory
from workflows.models import StockCount
from workflows.services import decide_count, open_count, record_counts, submit_count


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_one_count_apply_it_once(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=20)
    count = open_count(actor=world.staff_a, warehouse=world.wh_a)
    record_counts(actor=world.staff_a, count_id=count.pk, counts={line.pk: 15 for line in count.lines.all()})
    submit_count(actor=world.staff_a, count_id=count.pk)
    deciders = [world.admin, world.manager_a] * 4

    results = run_threads(8, lambda i: decide_count(actor=deciders[i], count_id=count.pk, decision="approve"))
    codes = sorted(str(code) for kind, code in outcomes(results))
    assert codes.count("invalid_state") == 7, codes
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 15
    assert StockMovement.objects.filter(reference_type="stock_count", reference_id=count.pk).count() == 1
    assert StockCount.objects.get(pk=count.pk).status == "applied"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_imports_counts_and_adjustments_over_the_same_rows_do_not_deadlock(world):
    products = [ProductFactory() for _ in range(12)]
    for product in products:
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=100)
    count = open_count(actor=world.staff_a, warehouse=world.wh_a)
    record_counts(actor=world.staff_a, count_id=count.pk, counts={line.pk: line.expected for line in count.lines.all()})

    def work(index):
        if index == 0:
            return submit_count(actor=world.staff_a, count_id=count.pk)
        if index % 2:
            rows = "".join(f"A,{p.sku},1\n" for p in (products if index % 4 == 1 else products[::-1]))
            return import_stock(actor=world.admin, binary=[f"warehouse_code,sku,quantity\n{rows}".encode()])
        return adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=products[index % 12], delta=-1,
                            reason="damage")

    results = run_threads(9, work)
    assert all(kind == "ok" for kind, _ in outcomes(results)), outcomes(results)
    total = sum(Stock.objects.filter(warehouse=world.wh_a, product__in=products).values_list("quantity", flat=True))
    assert total == 12 * 100 + 4 * 12 - 4
