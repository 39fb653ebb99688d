"""The in-transaction event seam: explicit emits, subscribers registered by the apps, run in the transaction."""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction

from core import events
from inventory.events import StockChanged
from inventory.models import LowStockAlert, Stock
from inventory.services import adjust_stock, assign_stock, set_threshold

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


@dataclass(frozen=True)
class Pinged(events.Event):
    n: int


@pytest.fixture
def pinged_subscribers():
    yield events._subscribers[Pinged]
    events._subscribers.pop(Pinged, None)


@pytest.mark.django_db
def test_subscribers_run_in_registration_order_inside_the_transaction(pinged_subscribers):
    seen = []
    events.subscribe(Pinged, lambda e: seen.append(("first", e.n, transaction.get_connection().in_atomic_block)))
    events.subscribe(Pinged, lambda e: seen.append(("second", e.n, transaction.get_connection().in_atomic_block)))
    with transaction.atomic():
        events.emit(Pinged(n=7))
    assert seen == [("first", 7, True), ("second", 7, True)]


@pytest.mark.django_db(transaction=True)  # no test-wide atomic block (nor the shared world's) is open
def test_an_event_outside_a_transaction_is_refused(pinged_subscribers):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.emit(Pinged(n=1))


def test_only_event_types_can_be_subscribed_to():
    with pytest.raises(TypeError):
        events.subscribe(dict, print)


@pytest.mark.django_db
def test_a_failing_subscriber_rolls_the_change_back(world, pinged_subscribers, monkeypatch):
    def broken(event):
        raise RuntimeError("subscriber failed")

    monkeypatch.setitem(events._subscribers, StockChanged, [*events._subscribers[StockChanged], broken])
    with pytest.raises(RuntimeError, match="subscriber failed"):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    assert not Stock.objects.filter(product=world.product, warehouse=world.wh_a, quantity__gt=0).exists()


@pytest.mark.django_db
def test_alerts_react_to_the_stock_door_through_the_seam(world):
    """The stock door imports no alert code; the alert opens because inventory subscribed it in ready()."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=5)
    adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-6, reason="damage")
    assert LowStockAlert.objects.filter(product=world.product, warehouse=world.wh_a, status="open").count() == 1
    assert "inventory.alerts.open_or_resolve_alerts" in events.subscriptions()["inventory.events.StockChanged"]


def test_the_stock_door_imports_nothing_that_reacts_to_it():
    door = Path(__file__).resolve().parents[2] / "inventory" / "services" / "stock.py"
    imports = re.findall(r"^(?:from|import) (\S+)", door.read_text(), flags=re.MULTILINE)
    assert not [name for name in imports if "alert" in name or name.startswith(("workflows", "dashboards", "reports"))]


def test_docs_list_every_subscription():
    text = ARCHITECTURE.read_text()
    for event_type, subscribers in events.subscriptions().items():
        if event_type.startswith("core.tests."):
            continue
        assert f"`{event_type}`" in text, f"docs/ARCHITECTURE.md does not list {event_type}"
        for subscriber in subscribers:
            assert f"`{subscriber}`" in text, f"docs/ARCHITECTURE.md does not list {subscriber}"


@pytest.fixture
def stock_events(monkeypatch):
    seen: list[StockChanged] = []
    monkeypatch.setitem(events._subscribers, StockChanged, [*events._subscribers[StockChanged], seen.append])
    return seen


def _numbers(event: StockChanged):
    return [(row.stock.warehouse_id, row.quantity_before, row.stock.quantity, row.reserved_before, row.stock.reserved,
             row.incoming_before, row.stock.incoming, len(row.movements)) for row in event.rows]


@pytest.mark.django_db
def test_one_event_per_operation_lists_each_changed_row_once_and_raises_its_version(world, stock_events):
    from inventory.services import Reference, move_stock_lines, reserve_stock

    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    assert [_numbers(e) for e in stock_events] == [[(world.wh_a.pk, 0, 10, 0, 0, 0, 0, 1)]]
    assert stock.version == 1
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    assert _numbers(stock_events[-1]) == [(world.wh_a.pk, 10, 10, 0, 3, 0, 0, 0)]
    move_stock_lines(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                     lines=[(world.product, 2)],
                     reference=Reference("transfer_request", 1))
    assert len(stock_events) == 3
    assert sorted(_numbers(stock_events[-1])) == sorted([(world.wh_a.pk, 10, 8, 3, 3, 0, 0, 1),
                                                         (world.wh_b.pk, 0, 2, 0, 0, 0, 0, 1)])
    stock.refresh_from_db()
    assert stock.version == 3


@pytest.mark.django_db
def test_a_refused_operation_announces_nothing(world, stock_events):
    from inventory.errors import InsufficientStock

    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    with pytest.raises(InsufficientStock):
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-2, reason="damage")
    assert len(stock_events) == 1
