"""The outbox: each event type becomes one event row in the change's transaction (a rollback: none), with the
API's shapes; the worker fans it out by type, warehouse filter and the owner's scope."""

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.events import AccessChanged
from accounts.models import User
from core.events import emit
from inventory import services as stock_services
from inventory.events import AlertChanged, ReservationChanged, RowChange, StockChanged
from inventory.models import Stock, StockMovement
from inventory.serializers import LowStockAlertSerializer, ReservationSerializer, StockMovementSerializer
from inventory.tests.factories import LowStockAlertFactory, ProductFactory, ReservationFactory
from webhooks.delivery import fan_out
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.tests.test_api_webhooks import make_endpoint
from workflows.events import PurchaseRequestChanged, StockCountChanged, TransferRequestChanged
from workflows.serializers import PurchaseRequestSerializer, StockCountSerializer, TransferRequestSerializer
from workflows.tests.factories import PurchaseRequestFactory, StockCountFactory, TransferRequestFactory

pytestmark = pytest.mark.django_db


def deliveries_to(endpoint) -> list[tuple[str, list[int]]]:
    return [(d.event.type, d.event.warehouse_ids)
            for d in WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("pk")]


# --- stock.changed, end to end from the stock door ----------------------------------------------------------

def test_a_stock_change_writes_one_stock_changed_event_with_the_rows_numbers(world, loopback):
    make_endpoint(world.admin, events=["stock.changed"])
    stock = stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=7)
    event = WebhookEvent.objects.get()
    movement = StockMovement.objects.get(stock=stock)
    stock.refresh_from_db()
    assert event.type == "stock.changed" and event.warehouse_ids == [world.wh_a.pk]
    assert event.data == {
        "warehouse": world.wh_a.pk, "product": world.product.pk, "version": stock.version,
        "movements": [dict(StockMovementSerializer(movement).data)],
        "quantity": 7, "reserved": 0, "incoming": 0, "expired": 0, "available": 7,
    }
    ReservationFactory(warehouse=world.wh_a, product=world.product, quantity=3, assign=0, actor=world.admin)
    reserved = WebhookEvent.objects.order_by("created_at").last()
    assert reserved.data["reserved"] == 3 and reserved.data["available"] == 4 and reserved.data["movements"] == []
    assert reserved.data["version"] == event.data["version"] + 1


def test_no_active_endpoint_wanting_the_type_writes_no_event(world, loopback):
    make_endpoint(world.admin, events=["alert.opened"])
    inactive = make_endpoint(world.admin, events=["stock.changed"])
    WebhookEndpoint.objects.filter(pk=inactive.pk).update(is_active=False)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=7)
    assert not WebhookEvent.objects.exists()


def test_a_rolled_back_change_writes_no_event(world, loopback):
    make_endpoint(world.admin)
    with pytest.raises(RuntimeError), transaction.atomic():
        stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=7)
        assert WebhookEvent.objects.count() == 1
        raise RuntimeError("the request failed after the change")
    assert not WebhookEvent.objects.exists()
    assert not Stock.objects.filter(quantity__gt=0).exists()


def test_a_refused_change_writes_no_event(world, loopback):
    from inventory.errors import InsufficientStock

    make_endpoint(world.admin)
    with pytest.raises(InsufficientStock):
        stock_services.adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-5,
                                    reason="loss")
    assert not WebhookEvent.objects.exists()


def test_an_operation_on_two_rows_writes_one_event_per_row(world, loopback):
    make_endpoint(world.admin)
    a = stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    b = stock_services.assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product2, quantity=5)
    WebhookEvent.objects.all().delete()
    with transaction.atomic():
        emit(StockChanged(rows=(RowChange(stock=a, quantity_before=4, reserved_before=0, incoming_before=0),
                                RowChange(stock=b, quantity_before=5, reserved_before=1, incoming_before=0))))
    events = sorted(WebhookEvent.objects.all(), key=lambda e: e.warehouse_ids)
    assert [(e.type, e.warehouse_ids, e.data["product"]) for e in events] == [
        ("stock.changed", [world.wh_a.pk], world.product.pk), ("stock.changed", [world.wh_b.pk], world.product2.pk)]


# --- the document events (emitted by the services on the events branch; here through the seam) -------------

def emitted(event) -> WebhookEvent:
    with transaction.atomic():
        emit(event)
    return WebhookEvent.objects.order_by("created_at", "pk").last()


@pytest.mark.parametrize("action", ["opened", "resolved"])
def test_alert_events(world, loopback, action):
    make_endpoint(world.admin)
    alert = LowStockAlertFactory(warehouse=world.wh_a, product=world.product)
    event = emitted(AlertChanged(alert=alert, action=action))
    assert event.type == f"alert.{action}" and event.warehouse_ids == [world.wh_a.pk]
    assert event.data == {"alert": dict(LowStockAlertSerializer(alert).data)}


@pytest.mark.parametrize("action", ["created", "released", "fulfilled", "expired"])
def test_reservation_events(world, loopback, action):
    make_endpoint(world.admin, events=[f"reservation.{action}"])
    reservation = ReservationFactory(warehouse=world.wh_b, product=world.product, actor=world.admin)
    event = emitted(ReservationChanged(reservation=reservation, action=action))
    assert event.type == f"reservation.{action}" and event.warehouse_ids == [world.wh_b.pk]
    assert event.data == {"reservation": dict(ReservationSerializer(reservation).data)}


@pytest.mark.parametrize("action", ["created", "decided", "cancelled"])
def test_purchase_request_events_are_a_snapshot(world, loopback, action):
    make_endpoint(world.admin)
    request = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    event = emitted(PurchaseRequestChanged(purchase_request=request, action=action))
    request.status = "approved"
    request.save()
    assert event.type == f"purchase_request.{action}" and event.warehouse_ids == [world.wh_a.pk]
    event.refresh_from_db()
    assert event.data["purchase_request"]["status"] == "pending"  # as it was when the event was created
    assert set(event.data["purchase_request"]) == set(PurchaseRequestSerializer(request).data)


@pytest.mark.parametrize("action", ["created", "decided", "shipped", "received", "closed", "cancelled"])
def test_transfer_request_events_carry_the_lines_and_both_warehouses(world, loopback, action):
    make_endpoint(world.admin)
    transfer = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                      lines=[(world.product, 2), (world.product2, 3)], requested_by=world.manager_a)
    event = emitted(TransferRequestChanged(transfer_request=transfer, action=action))
    assert event.type == f"transfer_request.{action}"
    assert event.warehouse_ids == sorted([world.wh_a.pk, world.wh_b.pk])
    assert event.data == {"transfer_request": TransferRequestSerializer(transfer).data}
    assert len(event.data["transfer_request"]["lines"]) == 2


@pytest.mark.parametrize("action", ["submitted", "decided"])
def test_stock_count_events(world, loopback, action):
    make_endpoint(world.admin)
    count = StockCountFactory(warehouse=world.wh_a, actor=world.admin, products=[world.product])
    event = emitted(StockCountChanged(stock_count=count, action=action))
    assert event.type == f"stock_count.{action}" and event.warehouse_ids == [world.wh_a.pk]
    assert event.data == {"stock_count": StockCountSerializer(count).data}


def test_an_unknown_action_is_a_programming_error(world, loopback):
    make_endpoint(world.admin)
    alert = LowStockAlertFactory(warehouse=world.wh_a, product=world.product)
    with pytest.raises(ValueError), transaction.atomic():
        emit(AlertChanged(alert=alert, action="exploded"))
    assert not WebhookEvent.objects.exists()


# --- fan-out ------------------------------------------------------------------------------------------------

def test_fan_out_follows_types_warehouse_filters_and_the_owners_scope(world, loopback):
    admin_all = make_endpoint(world.admin)
    admin_b = make_endpoint(world.admin, warehouses=[world.wh_b])
    manager_a = make_endpoint(world.manager_a)  # no filter: the warehouses they manage
    manager_a_alerts = make_endpoint(world.manager_a, events=["alert.opened"])
    manager_b = make_endpoint(world.manager_b, events=["transfer_request.created"])
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=7)
    transfer = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                      requested_by=world.manager_a)
    with transaction.atomic():
        emit(TransferRequestChanged(transfer_request=transfer, action="created"))
    assert fan_out() == 2
    both = sorted([world.wh_a.pk, world.wh_b.pk])
    assert deliveries_to(admin_all) == [("stock.changed", [world.wh_a.pk]), ("transfer_request.created", both)]
    assert deliveries_to(admin_b) == [("transfer_request.created", both)]  # nothing about A alone
    assert deliveries_to(manager_a) == [("stock.changed", [world.wh_a.pk]), ("transfer_request.created", both)]
    assert deliveries_to(manager_a_alerts) == []
    assert deliveries_to(manager_b) == [("transfer_request.created", both)]
    assert fan_out() == 0  # each event once


def test_a_manager_filtered_to_a_gets_nothing_about_b(world, loopback):
    endpoint = make_endpoint(world.manager_a, warehouses=[world.wh_a])
    make_endpoint(world.admin)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=7)
    fan_out()
    assert deliveries_to(endpoint) == []


def test_an_endpoint_gets_only_the_events_created_while_it_is_active(world, loopback):
    make_endpoint(world.admin)
    before = timezone.now()
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    late = make_endpoint(world.admin)
    paused = make_endpoint(world.admin)
    WebhookEndpoint.objects.filter(pk=paused.pk).update(active_since=before)
    # The paused endpoint was inactive when this event was created, then reactivated before the fan-out.
    WebhookEndpoint.objects.filter(pk=paused.pk).update(is_active=False)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    WebhookEndpoint.objects.filter(pk=paused.pk).update(is_active=True, active_since=timezone.now())
    fan_out()
    assert deliveries_to(late) == [("stock.changed", [world.wh_a.pk])]  # the second event only
    assert deliveries_to(paused) == []


def test_a_dismissed_owner_loses_their_endpoints_and_pending_deliveries_in_that_transaction(world, loopback):
    endpoint = make_endpoint(world.manager_a)
    admins = make_endpoint(world.admin)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    fan_out()
    with transaction.atomic():
        User.objects.filter(pk=world.manager_a.pk).update(status=User.Status.DISMISSED)
        manager = User.objects.select_related("role").get(pk=world.manager_a.pk)
        emit(AccessChanged(user=manager))
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "owner_changed")
    assert list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == ["failed"]
    assert WebhookDelivery.objects.get(endpoint=admins).status == "pending"
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    fan_out()
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1  # nothing more


def test_a_rolled_back_dismissal_keeps_the_endpoints(world, loopback):
    endpoint = make_endpoint(world.manager_a)
    with pytest.raises(RuntimeError), transaction.atomic():
        User.objects.filter(pk=world.manager_a.pk).update(status=User.Status.DISMISSED)
        emit(AccessChanged(user=User.objects.select_related("role").get(pk=world.manager_a.pk)))
        raise RuntimeError
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_an_access_change_that_keeps_the_role_keeps_the_endpoints(world, loopback):
    endpoint = make_endpoint(world.manager_a)
    with transaction.atomic():
        emit(AccessChanged(user=User.objects.select_related("role").get(pk=world.manager_a.pk)))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_a_product_that_is_not_lot_tracked_costs_no_expiry_query(world, loopback, django_assert_num_queries):
    make_endpoint(world.admin)
    product = ProductFactory()
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1)
    stock = Stock.objects.select_related("product").get(product=product, warehouse=world.wh_a)
    from webhooks import listening
    from webhooks.outbox import record_stock_changed

    listening.forget()  # as in a transaction of its own: the filters are read once per transaction
    with transaction.atomic(), django_assert_num_queries(2):  # the endpoints' filters, the insert
        record_stock_changed(StockChanged(rows=(RowChange(stock=stock, quantity_before=0, reserved_before=0,
                                                          incoming_before=0),)))


@pytest.mark.parametrize("listening", [True, False])
def test_expired_lot_units_are_counted_and_available_never_goes_below_zero(world, loopback, listening):
    """The expired units of a lot-tracked row (on PostgreSQL asked in the same statement as "is anyone
    listening"): 8 units of a lot that expired yesterday, 2 of one without a date, 2 reserved."""
    from datetime import timedelta

    endpoint = make_endpoint(world.admin, events=["stock.changed"])
    if not listening:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    product = ProductFactory(tracking="lot")
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=8, lot="OLD",
                                expires_on=timezone.localdate() - timedelta(days=1))
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=2, lot="NEW")
    WebhookEvent.objects.all().delete()
    ReservationFactory(warehouse=world.wh_a, product=product, quantity=2, assign=0, actor=world.admin)
    if not listening:
        assert not WebhookEvent.objects.exists()
        return
    data = WebhookEvent.objects.get().data
    assert (data["quantity"], data["reserved"], data["expired"], data["available"]) == (10, 2, 8, 0)


@pytest.mark.postgres
def test_three_endpoints_add_one_insert_per_event_to_a_hot_approval(world, loopback):
    """The in-transaction cost, counted rather than timed: an approval with three subscribed endpoints runs
    the statements of one with none, plus one INSERT per webhook event it writes (docs/BENCHMARKS.md)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from webhooks import listening
    from workflows.services import create_purchase_request, decide_purchase_request

    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)

    def approval_statements() -> tuple[list[str], int]:
        request = create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product, quantity=1)
        before = WebhookEvent.objects.count()
        listening.forget()  # each approval is a transaction of its own: it reads the filters once
        with CaptureQueriesContext(connection) as captured:
            decide_purchase_request(actor=world.admin, request_id=request.pk, decision="approve")
        return [q["sql"] for q in captured.captured_queries], WebhookEvent.objects.count() - before

    none, written_without = approval_statements()
    for _ in range(3):
        make_endpoint(world.admin)
    three, written = approval_statements()
    assert written_without == 0 and written >= 1
    inserts = [sql for sql in three if sql.startswith('INSERT INTO "webhooks_webhookevent"')]
    # One bulk insert per emitted event (stock.changed here; with the workflow's events, one more each).
    assert len(three) == len(none) + len(inserts) and 1 <= len(inserts) <= written


def test_a_transfer_snapshot_reads_its_lines_now_even_when_the_emitter_prefetched_them(world, loopback):
    from workflows.models import TransferLine, TransferRequest

    make_endpoint(world.admin)
    made = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                  lines=[(world.product, 2)], requested_by=world.manager_a)
    transfer = TransferRequest.objects.prefetch_related("lines").get(pk=made.pk)
    assert transfer.lines.all()[0].shipped_quantity == 0  # prefetched before the change
    TransferLine.objects.filter(transfer=transfer).update(shipped_quantity=2)
    event = emitted(TransferRequestChanged(transfer_request=transfer, action="shipped"))
    assert [line["shipped_quantity"] for line in event.data["transfer_request"]["lines"]] == [2]
