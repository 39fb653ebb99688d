"""`manage.py seed_demo` (the top-layer app `demo`) leaves a demo the dashboards can show: eight weeks of dated
history told through the services, and open work for every role.

Here, beside the admin dashboard's tests, because the dashboard's week of bars is what the demo is for
(and `pytest.ini`'s `testpaths` names the apps whose tests run; `demo` has none of its own yet).
"""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent, Role, User
from inventory.lots import Lot, StockLot
from inventory.models import LowStockAlert, LowStockThreshold, Product, Reservation, Stock, StockMovement
from inventory.verification import ledger_mismatches
from warehouses.models import Warehouse
from workflows import policies
from workflows.models import PurchaseRequest, ReorderRule, StockCount, TransferRequest

# A Wednesday mid-morning: the scene of the morning is today, the history the eight weeks before.
NOW = datetime(2026, 3, 11, 10, 30, tzinfo=ZoneInfo("UTC"))


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {model.__name__: model.objects.count() for model in (
        User, Product, Stock, StockMovement, PurchaseRequest, TransferRequest, Reservation, LowStockAlert,
        StockCount, AuditEvent, DBTaskResult, Lot, StockLot, ReorderRule)}


@pytest.mark.django_db
def test_seed_demo_tells_eight_weeks_and_leaves_work_open_for_every_role(time_machine, make_client):
    time_machine.move_to(NOW, tick=False)
    output = run("seed_demo")
    assert "admin / password admin12345" in output
    users = {user.username: user for user in User.objects.all()}
    assert users["admin"].check_password("admin12345") and users["admin"].role.name == Role.Name.ADMIN
    assert {user.role.name for user in users.values()} == {"admin", "manager", "staff", "viewer"}
    assert Warehouse.objects.count() == 3 and not Warehouse.objects.filter(manager__isnull=True).exists()
    assert Product.objects.count() == 22 and Product.objects.filter(tracking="lot").count() == 2
    assert Stock.objects.count() == 63 and LowStockThreshold.objects.count() == 60

    # Eight weeks of dated history, weekdays busier than weekends, ids and timestamps in step.
    ledger = StockMovement.objects.order_by("id")
    instants = list(ledger.values_list("created_at", flat=True))
    assert instants == sorted(instants) and max(instants) < NOW
    per_day = {}
    for moment in instants:
        day = timezone.localdate(moment)
        per_day[day] = per_day.get(day, 0) + 1
    today = NOW.date()
    assert min(per_day) == today - timedelta(days=56) and len(per_day) >= 50
    trade = {day: n for day, n in per_day.items() if day != min(per_day)}  # not the opening stock
    weekdays = [n for day, n in trade.items() if day.weekday() < 5]
    weekends = [n for day, n in trade.items() if day.weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 2 * sum(weekends) / len(weekends)
    assert {"assign", "adjust", "purchase", "fulfil", "transfer_out", "transfer_in"} <= set(
        ledger.values_list("kind", flat=True))

    # Purchase requests pending in every warehouse, each decidable by that warehouse's staff.
    pending = PurchaseRequest.objects.filter(status="pending").select_related("warehouse")
    assert {purchase.warehouse.code for purchase in pending} == {"NORTH", "SOUTH", "EAST"}
    for purchase in pending:
        assert policies.can_decide_purchase(users[f"staff.{purchase.warehouse.code.lower()}"], purchase)
    # A transfer request pending for the admin.
    waiting = TransferRequest.objects.get(status="pending", reorder_rule__isnull=True)
    assert policies.can_decide_transfer(users["admin"], waiting)
    assert not policies.can_decide_transfer(users["manager.north"], waiting)
    # A transfer on the road, partly received: units in the destination's `incoming`.
    on_road = TransferRequest.objects.get(status="in_transit")
    lines = list(on_road.lines.all())
    assert any(line.received_quantity for line in lines) and any(line.outstanding for line in lines)
    assert Stock.objects.filter(warehouse=on_road.destination_warehouse, incoming__gt=0).exists()
    # Active reservations, holding units for days to come.
    active = Reservation.objects.filter(status="active")
    assert active.count() >= 1 and all(r.expires_at > NOW + timedelta(days=1) for r in active)
    # One open low-stock alert today, its e-mail queued for the worker.
    alert = LowStockAlert.objects.get(status="open", kind="low_stock")
    assert timezone.localdate(alert.created_at) == today and alert.email_status == "queued"
    assert DBTaskResult.objects.filter(task_path="inventory.alert_emails.send_low_stock_alert_email",
                                       status="READY", args_kwargs__kwargs__alert_id=alert.pk).exists()
    # A submitted count for a second person: the warehouse's manager, not its submitter.
    count = StockCount.objects.get(status="submitted")
    assert policies.can_decide_count(users["manager.north"], count)
    assert not policies.can_decide_count(count.submitted_by, count)

    # Lots (SPEC §14): lot-tracked stock came in by lot, dated (one past its last day, some near it) and not.
    lots = {lot.code: lot for lot in Lot.objects.filter(product__tracking="lot")}
    assert any(lot.expires_on is None for lot in lots.values())
    assert any(lot.expires_on < today for lot in lots.values())
    assert any(today <= lot.expires_on <= today + timedelta(days=30) for lot in lots.values() if lot.expires_on)
    assert StockLot.objects.filter(lot__expires_on__lt=today, quantity__gt=0).exists()  # expired units on hand
    assert StockMovement.objects.filter(product__tracking="lot", lot__isnull=True).count() == 0
    assert {"assign", "purchase", "fulfil"} <= set(
        StockMovement.objects.filter(product__tracking="lot").values_list("kind", flat=True))
    # Sales took first-expired-first-out: at NORTH the oldest lot went out while it was usable, then the next.
    old = lots["SIL-2409"]
    taken = StockMovement.objects.filter(product__sku="SEAL-310", warehouse__code="NORTH",
                                         kind__in=["purchase", "fulfil"]).order_by("id")
    assert {m.lot_id for m in taken if timezone.localdate(m.created_at) <= old.expires_on} == {old.pk}
    assert {m.lot_id for m in taken if timezone.localdate(m.created_at) > old.expires_on} == {lots["SIL-2411"].pk}
    # Open expiry alerts (the near lots and the expired one), each e-mail queued for the worker.
    expiry = LowStockAlert.objects.filter(status="open", kind="expiry").select_related("lot")
    assert {alert.lot.code for alert in expiry} >= {"SIL-2409", "SIL-2411"}
    assert all(alert.lot.expires_on <= today + timedelta(days=30) for alert in expiry)
    for alert in expiry:
        assert DBTaskResult.objects.filter(task_path="inventory.alert_emails.send_low_stock_alert_email",
                                           args_kwargs__kwargs__alert_id=alert.pk).exists()
    admin = make_client(users["admin"])
    sealant = Product.objects.get(sku="SEAL-310")
    rows = admin.get("/api/stocks/", {"product": sealant.pk}).json()["results"]
    assert any(row["expired"] > 0 for row in rows)
    assert all(row["available"] == max(0, row["quantity"] - row["reserved"] - row["expired"]) for row in rows)

    # Replenishment (SPEC §15): an active rule whose transfer request waits for the admin.
    rule = ReorderRule.objects.get(is_active=True)
    generated = TransferRequest.objects.get(status="pending", reorder_rule=rule)
    assert generated.destination_warehouse_id == rule.warehouse_id
    assert generated.source_warehouse_id == rule.source_warehouse_id and generated.requested_by is None
    assert policies.can_decide_transfer(users["admin"], generated)

    # The admin dashboard's 7-day series: a bar every day.
    body = admin.get("/api/dashboard/admin/", {"days": 7}).json()
    assert len(body["series"]) == 7 and all(day["in"] or day["out"] for day in body["series"])
    assert body["totals"]["open_alerts"] == 1 + expiry.count()
    assert body["totals"]["pending_transfer_requests"] == 2
    assert body["totals"]["units_expired"] > 0 and body["totals"]["units_expiring"] > 0

    assert ledger_mismatches() == [] and "0 mismatches" in run("verify_ledger")

    # Idempotent: a second run (even a day later) changes nothing.
    before = snapshot()
    time_machine.move_to(NOW + timedelta(days=1), tick=False)
    again = run("seed_demo")
    assert "nothing to add" in again
    assert snapshot() == before
