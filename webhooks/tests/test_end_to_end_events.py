"""End to end: the services' own emits reach the outbox (document, alert, reservation and access events).

`stock.changed` is proven end to end in test_outbox.py.
"""

import datetime

import pytest
import time_machine

from inventory import services as stock_services
from inventory.expiry_checks import sweep_alerts
from inventory.lots import today
from inventory.models import Product
from inventory.services.lot_catalogue import correct_expiry
from inventory.tests.factories import ProductFactory
from warehouses import staffing
from webhooks.delivery import fan_out
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.tests.test_api_webhooks import make_endpoint
from workflows.services import purchases

pytestmark = pytest.mark.django_db


def types() -> list[str]:
    return list(WebhookEvent.objects.order_by("created_at", "pk").values_list("type", flat=True))


def test_a_purchase_request_created_then_approved_is_two_events_and_a_stock_change(world, loopback):
    make_endpoint(world.admin)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    WebhookEvent.objects.all().delete()
    request = purchases.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                                quantity=2)
    purchases.decide_purchase_request(actor=world.admin, request_id=request.pk, decision="approve")
    assert sorted(types()) == sorted(["purchase_request.created", "purchase_request.decided", "stock.changed"])
    created = WebhookEvent.objects.get(type="purchase_request.created")
    assert created.data["purchase_request"]["status"] == "pending"
    assert WebhookEvent.objects.get(type="purchase_request.decided").data["purchase_request"]["status"] == "approved"


def test_a_cancelled_purchase_request(world, loopback):
    make_endpoint(world.admin, events=["purchase_request.cancelled"])
    request = purchases.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                                quantity=2)
    purchases.cancel_purchase_request(actor=world.viewer, request_id=request.pk)
    assert types() == ["purchase_request.cancelled"]


def test_a_reservation_created_and_released(world, loopback):
    make_endpoint(world.admin, events=["reservation.created", "reservation.released"])
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    reservation = stock_services.reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product,
                                               quantity=2)
    stock_services.release_reservation(actor=world.admin, reservation_id=reservation.pk)
    assert types() == ["reservation.created", "reservation.released"]


def test_an_alert_opened_by_a_stock_change(world, loopback):
    make_endpoint(world.admin, events=["alert.opened"])
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    stock_services.set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product, threshold=3)
    stock_services.adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-3,
                                reason="loss")
    assert types() == ["alert.opened"]


def _alert_events() -> list[tuple[str, str, str | None]]:
    return [(event.type, event.data["alert"]["kind"], event.data["alert"]["status"])
            for event in WebhookEvent.objects.order_by("created_at", "pk")]


def test_an_expiry_alert_opened_by_an_arrival_and_resolved_when_the_lot_is_emptied(world, loopback):
    make_endpoint(world.admin, events=["alert.opened", "alert.resolved"])
    product = ProductFactory(tracking=Product.Tracking.LOT)
    soon = today() + datetime.timedelta(days=2)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=3, lot="L1",
                                expires_on=soon)
    stock_services.adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=-2, reason="loss")
    assert _alert_events() == [("alert.opened", "expiry", "open")]
    stock_services.adjust_stock(actor=world.admin, warehouse=world.wh_a, product=product, delta=-1, reason="loss")
    assert _alert_events() == [("alert.opened", "expiry", "open"), ("alert.resolved", "expiry", "resolved")]
    opened = WebhookEvent.objects.filter(type="alert.opened").get()
    assert opened.data["alert"]["lot"] is not None and opened.data["alert"]["warehouse"] == world.wh_a.pk


def test_an_expiry_alert_resolved_by_a_corrected_date_and_opened_by_the_worker(world, loopback):
    make_endpoint(world.admin, events=["alert.opened", "alert.resolved"])
    product = ProductFactory(tracking=Product.Tracking.LOT)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=3, lot="L1",
                                expires_on=today() + datetime.timedelta(days=2))
    lot = product.lots.get()
    correct_expiry(actor=world.admin, lot=lot, expires_on=today() + datetime.timedelta(days=400))
    assert _alert_events() == [("alert.opened", "expiry", "open"), ("alert.resolved", "expiry", "resolved")]
    # The date comes into the window as days go by: the worker's check opens a new alert, announced too.
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=380), tick=False):
        sweep_alerts()
    assert _alert_events()[-1] == ("alert.opened", "expiry", "open")


def test_a_dismissed_manager_loses_their_endpoints_in_the_dismissal(world, loopback):
    endpoint = make_endpoint(world.manager_a)
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    fan_out()
    staffing.dismiss_user(actor=world.admin, user=world.manager_a, reason="left")
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "owner_changed")
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"failed"}
    stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    fan_out()
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).disabled_reason == "owner_changed"
