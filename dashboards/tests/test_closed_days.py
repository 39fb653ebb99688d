"""The admin dashboard reads closed days from their written totals and open days from the roll-up.

Closed-day totals are written once, by the worker (`inventory.rollups.close_settled_days`); a dashboard
never writes. The suite's ledger check proves them against `DailyFlow` after every test.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from core.testing import run_threads
from inventory import rollups
from inventory.models import ClosedDay, ClosedProductDay, ClosedWarehouseDay, StockMovement
from workflows.tests.history import record_history

pytestmark = pytest.mark.django_db

Kind = StockMovement.Kind
URL = "/api/dashboard/admin/"
BERLIN = ZoneInfo("Europe/Berlin")


def _history(world):
    """Movements on 8, 9 and 10 March 2026 (Berlin), the last one late in the evening."""
    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (datetime(2026, 3, 8, 10, tzinfo=BERLIN), 50, Kind.ASSIGN),
        (datetime(2026, 3, 9, 11, tzinfo=BERLIN), -5, Kind.ADJUST),
        (datetime(2026, 3, 10, 23, 30, tzinfo=BERLIN), 7, Kind.ADJUST),
    ])
    record_history(warehouse=world.wh_b, product=world.product2, entries=[
        (datetime(2026, 3, 9, 12, tzinfo=BERLIN), 20, Kind.ASSIGN),
    ])


def _series(body) -> dict:
    return {e["date"]: (e["in"], e["out"]) for e in body["series"] if e["in"] or e["out"]}


def test_closed_days_are_written_once_by_the_worker_and_give_the_same_dashboard(world, make_client, berlin):
    _history(world)
    # 00:30 on 11 March: 10 March ended half an hour ago, within the settle time: not closed yet.
    with time_machine.travel(datetime(2026, 3, 11, 0, 30, tzinfo=BERLIN), tick=False):
        client = make_client(world.admin)
        unclosed = client.get(URL, {"days": 7}).json()  # nothing closed yet: every day from the roll-up
        assert rollups.close_settled_days.call() == 2
        assert sorted(ClosedDay.objects.values_list("day", flat=True)) == [date(2026, 3, 8), date(2026, 3, 9)]
        response = client.get(URL, {"days": 7})
        assert response.status_code == 200, response.content
        early = response.json()
    # 02:00: the worker closes 10 March too.
    with time_machine.travel(datetime(2026, 3, 11, 2, tzinfo=BERLIN), tick=False):
        client = make_client(world.admin)  # a token of that moment
        assert rollups.close_settled_days.call() == 1
        late = client.get(URL, {"days": 7}).json()
        assert ClosedDay.objects.filter(day=date(2026, 3, 10)).exists()
        assert rollups.close_settled_days.call() == 0
        again = client.get(URL, {"days": 7}).json()
    expected = {"2026-03-08": (50, 0), "2026-03-09": (20, 5), "2026-03-10": (7, 0)}
    assert _series(unclosed) == _series(early) == _series(late) == _series(again) == expected
    assert unclosed["top_products"] == early["top_products"] == late["top_products"] == again["top_products"]
    assert [(p["product"], p["moved"]) for p in late["top_products"]] == [(world.product.pk, 62),
                                                                         (world.product2.pk, 20)]
    assert ClosedDay.objects.get(day=date(2026, 3, 9)).movements == 2
    assert ClosedProductDay.objects.filter(day=date(2026, 3, 9)).count() == 2
    assert ClosedDay.objects.get(day=date(2026, 3, 10)).movements == 1
    assert ClosedWarehouseDay.objects.get(day=date(2026, 3, 9), warehouse=world.wh_b).inflow == 20


def test_the_warehouse_series_reads_closed_days_and_open_days_alike(world, make_client, berlin):
    _history(world)
    url = "/api/dashboard/warehouse/"
    bodies = []
    for moment in (datetime(2026, 3, 10, 23, 50, tzinfo=BERLIN), datetime(2026, 3, 11, 0, 30, tzinfo=BERLIN),
                   datetime(2026, 3, 11, 2, tzinfo=BERLIN)):
        with time_machine.travel(moment, tick=False):
            rollups.close_settled_days.call()
            response = make_client(world.admin).get(url, {"warehouse": world.wh_a.pk, "days": 7})
            assert response.status_code == 200, response.content
            bodies.append(response.json())
    # Before midnight everything up to 9 March is closed; at 02:00 the 10th too: the figures never change.
    assert [_series(body) for body in bodies] == [{"2026-03-08": (50, 0), "2026-03-09": (0, 5),
                                                   "2026-03-10": (7, 0)}] * 3
    assert ClosedWarehouseDay.objects.filter(warehouse=world.wh_a, day=date(2026, 3, 10)).exists()


def test_today_is_never_closed(world, make_client, berlin):
    _history(world)
    with time_machine.travel(datetime(2026, 3, 10, 23, 45, tzinfo=BERLIN), tick=False):
        rollups.close_settled_days.call()
        body = make_client(world.admin).get(URL, {"days": 1}).json()
        assert rollups.last_closed_day() == date(2026, 3, 9)
    assert _series(body) == {"2026-03-10": (7, 0)}
    assert not ClosedDay.objects.filter(day=date(2026, 3, 10)).exists()


def test_a_dashboard_writes_nothing_even_when_days_wait_to_be_closed(world, make_client, berlin):
    _history(world)
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=BERLIN), tick=False):
        client = make_client(world.admin)
        with CaptureQueriesContext(connection) as queries:
            for url, params in ((URL, {"days": 30}), ("/api/dashboard/warehouse/", {"warehouse": world.wh_a.pk})):
                assert client.get(url, params).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert not writes, writes
    assert not ClosedDay.objects.exists()


def test_the_worker_closes_days_on_its_own_schedule(world, berlin):
    from core.events import emit
    from core.worker import WorkerStarted

    _history(world)
    ready = DBTaskResult.objects.filter(task_path=rollups.CLOSE_TASK_PATH, status="READY")
    with time_machine.travel(datetime(2026, 3, 11, 12, tzinfo=BERLIN), tick=False):
        with transaction.atomic():
            emit(WorkerStarted())  # a worker starts: one run is queued at once
            emit(WorkerStarted())
        assert ready.count() == 1
        ready.update(status="RUNNING")  # the worker takes that run ...
        assert rollups.close_settled_days.call() == 3  # ... which closes 8, 9 and 10 March
        # Then one run waits for 12 March 01:00 in Berlin, when 11 March has settled.
        assert ready.count() == 1
        assert [r.run_after for r in ready if r.run_after.year < 9000] == [datetime(2026, 3, 12, 1, tzinfo=BERLIN)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dashboards_closing_the_same_days_at_once_write_them_once(world, berlin):
    _history(world)
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(12)]
    with time_machine.travel(datetime(2026, 3, 13, 12, tzinfo=BERLIN), tick=False):
        results = run_threads(4, lambda _: rollups.close_days(days))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) >= 12  # each day written by whoever got there first; conflicts skipped, not failed
    assert ClosedDay.objects.count() == 12
    assert ClosedProductDay.objects.filter(day=date(2026, 3, 9)).count() == 2
