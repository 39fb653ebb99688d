from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from inventory.models import Reservation, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, reserve_stock
from inventory.verification import ledger_mismatches


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_verify_ledger_passes_on_a_consistent_ledger(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-2, reason="count")
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=1)
    output = run("verify_ledger")
    assert "Checked 2 stock rows and 3 movements." in output
    assert "0 mismatches" in output


@pytest.mark.django_db
def test_verify_ledger_passes_on_an_empty_database(db):
    assert "Checked 0 stock rows and 0 movements." in run("verify_ledger")


class Rollback(Exception):
    """Raised to undo a test-only corruption (the ledger cannot be repaired: it is append-only)."""


@pytest.mark.django_db
def test_verify_ledger_exits_non_zero_when_a_balance_differs_from_its_ledger(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    out = StringIO()
    with pytest.raises(Rollback), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(quantity=9)  # test-only corruption
        with pytest.raises(CommandError, match="1 mismatch"):
            call_command("verify_ledger", stdout=out)
        raise Rollback
    assert f"balance mismatch at stock {stock.pk}: expected 5, found 9" in out.getvalue()
    assert "0 mismatches" in run("verify_ledger")


@pytest.mark.django_db
def test_verify_ledger_exits_non_zero_when_reserved_differs_from_the_active_reservations(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    hold = reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    assert "0 mismatches" in run("verify_ledger")
    out = StringIO()
    with pytest.raises(Rollback), transaction.atomic():
        Reservation.objects.filter(pk=hold.pk).update(status="released")  # test-only corruption: a ghost hold
        with pytest.raises(CommandError, match="1 mismatch"):
            call_command("verify_ledger", stdout=out)
        raise Rollback
    assert f"reserved mismatch at stock {stock.pk}: expected 0, found 3" in out.getvalue()
    assert "0 mismatches" in run("verify_ledger")


@pytest.mark.django_db
def test_verify_ledger_finds_a_broken_running_total(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    with pytest.raises(Rollback), transaction.atomic():
        # The change agrees with the balance but quantity_after lies (test-only corruption).
        StockMovement.objects.create(stock=stock, warehouse=world.wh_a, product=world.product, kind="adjust",
                                     quantity_change=1, quantity_after=7, reason="found")
        Stock.objects.filter(pk=stock.pk).update(quantity=6)
        # The day's roll-up does not know the smuggled movement either.
        assert [(m.kind, m.expected, m.found) for m in ledger_mismatches()] == [
            ("running", 6, 7), ("flow", (6, 0, 2), (5, 0, 1))]
        with pytest.raises(CommandError):
            run("verify_ledger")
        raise Rollback


@pytest.mark.django_db
def test_verify_ledger_finds_a_movement_filed_under_another_warehouse(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    with pytest.raises(Rollback), transaction.atomic():
        StockMovement.objects.create(stock=stock, warehouse=world.wh_b, product=world.product, kind="adjust",
                                     quantity_change=1, quantity_after=6, reason="found")
        Stock.objects.filter(pk=stock.pk).update(quantity=6)
        assert [m.kind for m in ledger_mismatches()] == ["owner", "flow"]
        raise Rollback


@pytest.mark.django_db
def test_verify_ledger_finds_a_stock_row_without_movements(world):
    stock = Stock.objects.create(warehouse=world.wh_a, product=world.product)
    Stock.objects.filter(pk=stock.pk).update(quantity=3)
    assert [(m.kind, m.expected, m.found) for m in ledger_mismatches()] == [("balance", 0, 3)]
    Stock.objects.filter(pk=stock.pk).update(quantity=0)
    assert ledger_mismatches() == []


# `seed_demo` lives in the top-layer app `demo`; the demo story's test is dashboards/tests/test_seed_demo.py.
# Its bulk mode (`--scale`, under the benchmarks) is tested here, beside `verify_ledger` which it must satisfy.


@pytest.mark.django_db
def test_seed_demo_scale_writes_a_consistent_bulk_ledger(db):
    run("seed_demo", "--warehouses", "3", "--products", "4", "--movements", "40")
    bench = Stock.objects.filter(warehouse__code__startswith="BW")
    assert bench.count() == 12
    assert StockMovement.objects.filter(warehouse__code__startswith="BW").count() == 40
    assert all(stock.quantity >= 0 for stock in bench)
    assert ledger_mismatches() == []
    assert "0 mismatches" in run("verify_ledger")


@pytest.mark.django_db
def test_seed_demo_scale_with_fewer_movements_than_pairs(db):
    run("seed_demo", "--scale", "0.0001", "--warehouses", "1", "--products", "1")  # 100 movements
    assert StockMovement.objects.filter(warehouse__code__startswith="BW").count() == 100
    run("seed_demo", "--warehouses", "2", "--products", "5", "--movements", "3")
    assert ledger_mismatches() == []


@pytest.mark.django_db
def test_seed_demo_rejects_a_non_positive_scale(db):
    with pytest.raises(CommandError):
        run("seed_demo", "--scale", "0")


@pytest.mark.django_db
def test_seed_demo_scale_spreads_a_year_of_trade_over_weekdays_and_hot_products(db):
    run("seed_demo", "--warehouses", "2", "--products", "200", "--movements", "20000", "--days", "70")
    ledger = StockMovement.objects.filter(warehouse__code__startswith="BW")
    trade = ledger.exclude(kind="assign")
    days = {}
    for created_at in trade.values_list("created_at", flat=True):
        day = created_at.date()
        days[day] = days.get(day, 0) + 1
    assert len(days) == 70 and max(days) < timezone.localdate()  # every day of the window, ending yesterday
    weekday = sum(n for d, n in days.items() if d.weekday() < 5) / sum(1 for d in days if d.weekday() < 5)
    sunday = sum(n for d, n in days.items() if d.weekday() == 6) / sum(1 for d in days if d.weekday() == 6)
    assert weekday > 5 * sunday
    # Ids and timestamps agree (reports and the cursor read the ledger in that order).
    instants = list(ledger.order_by("id").values_list("created_at", flat=True))
    assert instants == sorted(instants)
    # A few hot products: the top 1 % of products move a large share of the trade.
    per_product = sorted(trade.values("product").annotate(n=Count("id")).values_list("n", flat=True), reverse=True)
    assert sum(per_product[:2]) > 0.2 * sum(per_product)
    assert set(trade.values_list("kind", flat=True)) == {"fulfil", "purchase", "adjust"}
    assert ledger_mismatches() == []


@pytest.mark.django_db
def test_verify_ledger_finds_a_wrong_daily_flow_and_rebuild_daily_flows_repairs_it(world, berlin):
    import time_machine

    from inventory.models import DailyFlow

    # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin: the roll-up files it under the local day.
    with time_machine.travel("2026-03-01T23:30:00Z", tick=False):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    with time_machine.travel("2026-03-02T10:00:00Z", tick=False):
        adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-2, reason="count")
    rows = list(DailyFlow.objects.values_list("day", "inflow", "outflow", "movements"))
    assert [(day.isoformat(), i, o, n) for day, i, o, n in rows] == [("2026-03-02", 5, 2, 2)]

    DailyFlow.objects.update(outflow=3)  # test-only corruption
    with pytest.raises(CommandError, match="1 mismatch"):
        run("verify_ledger")
    assert "rebuilt" in run("rebuild_daily_flows")
    assert list(DailyFlow.objects.values_list("inflow", "outflow", "movements")) == [(5, 2, 2)]
    assert "0 mismatches" in run("verify_ledger")
