"""Expiry alerts (SPEC §14): one open alert per (lot, warehouse) while the warehouse holds units of a lot expiring
within EXPIRY_WARNING_DAYS (or past); opened at once by a stock change, or by the worker's hourly check; one
e-mail when it opens; resolved when the balance there reaches 0 or a corrected date leaves the window. At a day
change (and on a correction) the rows whose `expired` changed are announced with `StockChanged`, version raised,
once per row per day change."""

import datetime

import pytest
import time_machine
from django.core import mail
from django_tasks_db.models import DBTaskResult

from core import events
from inventory.alert_emails import send_low_stock_alert_email
from inventory.events import StockChanged
from inventory.expiry_checks import (
    CHECK_TASK_PATH,
    announce_day_change,
    check_expiry,
    next_check,
    schedule_expiry_checks,
    sweep_alerts,
)
from inventory.lots import ExpiryCheckpoint
from inventory.models import LowStockAlert, Product, Stock
from inventory.services import adjust_stock, assign_stock, set_threshold
from inventory.services.lot_catalogue import correct_expiry
from inventory.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2027, 5, 20)
DAY = datetime.timedelta(days=1)
EMAIL_TASK = "inventory.alert_emails.send_low_stock_alert_email"
EXPIRY = LowStockAlert.Kind.EXPIRY


def at(day: datetime.date, hour: int = 12):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC), tick=False)


@pytest.fixture
def milk():
    return ProductFactory(sku="MILK-1", name="Milk", tracking=Product.Tracking.LOT)


@pytest.fixture
def stock_events():
    seen = []
    events._subscribers[StockChanged].append(seen.append)
    yield seen
    events._subscribers[StockChanged].remove(seen.append)


def expiry_alerts(**filters):
    return list(LowStockAlert.objects.filter(kind=EXPIRY, **filters).order_by("id"))


def email_tasks() -> int:
    return DBTaskResult.objects.filter(task_path=EMAIL_TASK).count()


def assign(world, product, warehouse, lot, units, expires_on=None):
    extra = {"expires_on": expires_on} if expires_on is not None else {}  # a known lot: no date to compare
    return assign_stock(actor=world.admin, warehouse=warehouse, product=product, quantity=units, lot=lot, **extra)


def test_units_of_a_lot_inside_the_window_open_one_alert_at_once_with_one_email(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 4, TODAY + 30 * DAY)  # exactly 30 days away: inside
        (alert,) = expiry_alerts()
        assert (alert.status, alert.product_id, alert.warehouse_id, alert.lot.code) == ("open", milk.pk,
                                                                                          world.wh_a.pk, "L1")
        assert (alert.quantity_at_trigger, alert.threshold) == (4, None)
        assert email_tasks() == 1
        assign(world, milk, world.wh_a, "L1", 3)  # more units of the same lot: nothing new
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-2, reason="damage")
        assert len(expiry_alerts()) == 1 and email_tasks() == 1
        assign(world, milk, world.wh_b, "L1", 1)  # another warehouse: its own alert
        assert [a.warehouse_id for a in expiry_alerts(status="open")] == [world.wh_a.pk, world.wh_b.pk]
        assert email_tasks() == 2


def test_the_email_names_the_warehouse_sku_lot_and_date_and_goes_to_manager_and_admins(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "LOT-9", 4, TODAY + 3 * DAY)
        (alert,) = expiry_alerts()
        assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "sent"
    (message,) = mail.outbox
    assert set(message.to) == {world.manager_a.email, world.admin.email}
    for text in (message.subject, message.body):
        assert "A" in text and "MILK-1" in text and "LOT-9" in text and "2027-05-23" in text
    assert LowStockAlert.objects.get(pk=alert.pk).email_status == "sent"


def test_a_lot_outside_the_window_or_without_a_date_opens_nothing(world, milk, settings):
    settings.EXPIRY_WARNING_DAYS = 10
    with at(TODAY):
        assign(world, milk, world.wh_a, "LATER", 4, TODAY + 11 * DAY)
        assign(world, milk, world.wh_a, "NEVER", 4)
        assert expiry_alerts() == [] and email_tasks() == 0


def test_units_of_an_expired_lot_arriving_open_an_alert(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "OLD", 2, TODAY - 5 * DAY)
        assert len(expiry_alerts(status="open")) == 1


def test_the_alert_resolves_when_the_balance_there_reaches_zero_and_units_arriving_later_open_a_new_one(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY + 2 * DAY)
        assign(world, milk, world.wh_a, "L2", 5, TODAY + 300 * DAY)
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-2, reason="damage")  # FEFO: L1
        assert expiry_alerts()[0].status == "open"
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-1, reason="damage")
        (resolved,) = expiry_alerts()
        assert resolved.status == "resolved" and resolved.resolved_at is not None
        assign(world, milk, world.wh_a, "L1", 1)
        assert [a.status for a in expiry_alerts()] == ["resolved", "open"]
        assert email_tasks() == 2


def test_an_expired_lot_leaving_by_a_named_adjust_resolves_its_alert(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "OLD", 2, TODAY - DAY)
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-2, reason="expired", lot="OLD")
        assert [a.status for a in expiry_alerts()] == ["resolved"]


def test_an_email_of_an_alert_resolved_before_it_went_out_is_skipped(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 1, TODAY + DAY)
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-1, reason="damage")
        (alert,) = expiry_alerts()
        assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "skipped"
    assert mail.outbox == []


def test_low_stock_and_expiry_alerts_of_one_row_live_side_by_side(make_client, world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 10, TODAY + DAY)
        set_threshold(actor=world.admin, warehouse=world.wh_a, product=milk, threshold=20)
        kinds = sorted(LowStockAlert.objects.filter(status="open").values_list("kind", flat=True))
        assert kinds == ["expiry", "low_stock"]
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-10, reason="damage")
        assert sorted(LowStockAlert.objects.filter(status="open").values_list("kind", flat=True)) == ["low_stock"]
        client = make_client(world.manager_a)
        expiry = client.get("/api/alerts/", {"kind": "expiry"}).data["results"]
        low = client.get("/api/alerts/", {"kind": "low_stock"}).data["results"]
        assert client.get("/api/alerts/", {"kind": "soon"}).status_code == 400
    assert [(row["kind"], row["lot"], row["threshold"], row["quantity_at_trigger"]) for row in expiry] == [
        ("expiry", milk.lots.get().pk, None, 10)]
    assert [(row["kind"], row["lot"], row["threshold"]) for row in low] == [("low_stock", None, 20)]


def test_expiry_alerts_are_scoped_like_low_stock_alerts(make_client, world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 1, TODAY + DAY)
        assert make_client(world.manager_b).get("/api/alerts/").data["results"] == []
        assert len(make_client(world.staff_a).get("/api/alerts/").data["results"]) == 1
        assert make_client(world.viewer).get("/api/alerts/").status_code == 403


# --- corrections ---------------------------------------------------------------------------------------------


def test_a_correction_to_no_date_or_beyond_the_window_resolves_at_once_and_back_inside_opens_a_new_one(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY + DAY)
        lot = milk.lots.get()
        correct_expiry(actor=world.admin, lot=lot, expires_on=None)
        assert [a.status for a in expiry_alerts()] == ["resolved"]
        correct_expiry(actor=world.admin, lot=lot, expires_on=TODAY + 5 * DAY)
        assert [a.status for a in expiry_alerts()] == ["resolved", "open"]
        correct_expiry(actor=world.admin, lot=lot, expires_on=TODAY + 31 * DAY)
        assert [a.status for a in expiry_alerts()] == ["resolved", "resolved"]
        assert email_tasks() == 2


def test_a_correction_that_changes_expired_raises_versions_and_announces_the_rows(world, milk, stock_events):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY + 100 * DAY)
        assign(world, milk, world.wh_b, "L1", 2)
        rows = {s.pk: s.version for s in Stock.objects.filter(product=milk)}
        stock_events.clear()
        lot = milk.lots.get()
        correct_expiry(actor=world.admin, lot=lot, expires_on=TODAY + 50 * DAY)  # still not expired: silent
        assert stock_events == []
        correct_expiry(actor=world.admin, lot=lot, expires_on=TODAY - DAY)  # now expired
        (event,) = stock_events
        assert sorted(row.stock.pk for row in event.rows) == sorted(rows)
        assert all(row.movements == () and row.stock.quantity == row.quantity_before for row in event.rows)
        assert {s.pk: s.version for s in Stock.objects.filter(product=milk)} == {pk: v + 1 for pk, v in rows.items()}


# --- the worker: day change and hourly sweep -------------------------------------------------------------------


def test_at_a_day_change_the_rows_of_lots_that_expired_are_announced_once(world, milk, stock_events, berlin):
    with at(TODAY - 3 * DAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY)
        assign(world, milk, world.wh_a, "L2", 3, TODAY + 100 * DAY)
        assign(world, milk, world.wh_b, "L3", 1, TODAY + DAY)
        assert announce_day_change() == 0  # the first run only sets the checkpoint
    row_a = Stock.objects.get(product=milk, warehouse=world.wh_a)
    stock_events.clear()
    # 23:30 Berlin on TODAY: L1's last day, nothing expired since the checkpoint's day
    with time_machine.travel(datetime.datetime(2027, 5, 20, 21, 30, tzinfo=datetime.UTC), tick=False):
        assert announce_day_change() == 0
    assert stock_events == []
    # 00:30 Berlin the next day: L1 expired → row A announced once, version raised
    with time_machine.travel(datetime.datetime(2027, 5, 20, 22, 30, tzinfo=datetime.UTC), tick=False):
        assert announce_day_change() == 1
        assert announce_day_change() == 0  # the same day again: nothing
    (event,) = stock_events
    assert [row.stock.pk for row in event.rows] == [row_a.pk]
    assert Stock.objects.get(pk=row_a.pk).version == row_a.version + 1
    assert ExpiryCheckpoint.objects.get().day == TODAY + DAY


def test_a_worker_down_over_several_midnights_announces_every_missed_expiry_once(world, milk, stock_events):
    with at(TODAY - 3 * DAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY - 2 * DAY)
        assign(world, milk, world.wh_b, "L2", 3, TODAY)
        announce_day_change()
    stock_events.clear()
    with at(TODAY + 5 * DAY):
        assert announce_day_change() == 2
    (event,) = stock_events
    assert len(event.rows) == 2


def test_the_hourly_sweep_opens_alerts_of_lots_that_came_into_the_window(world, milk, settings):
    settings.EXPIRY_WARNING_DAYS = 10
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY + 12 * DAY)
        assert expiry_alerts() == []
        assert sweep_alerts() == (0, 0)
    with at(TODAY + 2 * DAY):  # 10 days away now
        assert sweep_alerts() == (1, 0)
        assert sweep_alerts() == (0, 0)  # once
    assert [a.status for a in expiry_alerts()] == ["open"] and email_tasks() == 1


def test_the_sweep_resolves_an_alert_left_open_when_the_window_shrinks(world, milk, settings):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY + 20 * DAY)
        settings.EXPIRY_WARNING_DAYS = 5
        assert sweep_alerts() == (0, 1)
    assert [a.status for a in expiry_alerts()] == ["resolved"]


def test_the_check_task_announces_sweeps_and_reschedules_itself(world, milk):
    with at(TODAY):
        assign(world, milk, world.wh_a, "L1", 3, TODAY + 40 * DAY)
        announce_day_change()
    with at(TODAY + 15 * DAY):
        assert check_expiry.call() == {"announced": 0, "opened": 1, "resolved": 0}
        queued = DBTaskResult.objects.filter(task_path=CHECK_TASK_PATH, status="READY")
        assert queued.count() == 1


def test_the_worker_start_schedules_one_check_and_the_next_runs_hourly_or_at_midnight(world, berlin):
    schedule_expiry_checks()
    schedule_expiry_checks()
    assert DBTaskResult.objects.filter(task_path=CHECK_TASK_PATH, status="READY").count() == 1
    noon = datetime.datetime(2027, 5, 20, 10, tzinfo=datetime.UTC)  # 12:00 in Berlin
    assert next_check(noon) == noon + datetime.timedelta(hours=1)
    late = datetime.datetime(2027, 5, 20, 21, 40, tzinfo=datetime.UTC)  # 23:40 in Berlin
    assert next_check(late) == datetime.datetime(2027, 5, 20, 22, 0, tzinfo=datetime.UTC)  # Berlin midnight


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_arrivals_and_sweeps_open_one_alert_and_one_email(world):
    """Eight assigns of a lot expiring tomorrow into one warehouse race two hourly sweeps: one open alert, one
    e-mail task."""
    from core.testing import run_threads
    from inventory.tests.factories import LotFactory

    milk = ProductFactory(sku="MILK-RACE", tracking=Product.Tracking.LOT)
    LotFactory(product=milk, code="R1", expires_on=datetime.date.today() + DAY)

    def work(index):
        if index >= 8:
            return sweep_alerts()
        return assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=1, lot="R1")

    results = run_threads(10, work)
    assert not any(isinstance(result, BaseException) for result in results), results
    assert Stock.objects.get(product=milk, warehouse=world.wh_a).quantity == 8
    (alert,) = expiry_alerts(product=milk)
    assert alert.status == "open" and 1 <= alert.quantity_at_trigger <= 8
    assert DBTaskResult.objects.filter(task_path=EMAIL_TASK, args_kwargs__kwargs__alert_id=alert.pk).count() == 1
    assert LowStockAlert.objects.filter(kind=EXPIRY).count() == 1
