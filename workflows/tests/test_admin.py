"""Django admin: requests are read-only and decided only through the services (admin actions)."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import AuditEvent
from inventory.models import StockMovement

from .conftest import put_stock, quantity_of
from .factories import PurchaseRequestFactory, TransferRequestFactory

pytestmark = pytest.mark.django_db

PURCHASES = "/admin/workflows/purchaserequest/"
TRANSFERS = "/admin/workflows/transferrequest/"


@pytest.fixture
def admin_client(world):
    client = Client()
    client.force_login(world.admin)
    return client


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_approve_selected_approves_what_it_can_and_reports_each_failure(world, admin_client):
    put_stock(world, world.wh_a, 5)
    fits = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=4, requested_by=world.viewer)
    too_big = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=4,
                                     requested_by=world.viewer)
    decided = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, quantity=1,
                                     requested_by=world.viewer, status="rejected")
    response = admin_client.post(PURCHASES, {"action": "approve_selected",
                                             "_selected_action": [fits.pk, too_big.pk, decided.pk]}, follow=True)
    assert response.status_code == 200
    messages = _messages(response)
    assert "1 request(s) approved." in messages
    assert any(m.startswith(f"#{too_big.pk}: Not enough stock") for m in messages)
    assert any(m.startswith(f"#{decided.pk}: This request is already rejected") for m in messages)
    statuses = {p.pk: p.status for p in type(fits).objects.all()}
    assert statuses == {fits.pk: "approved", too_big.pk: "pending", decided.pk: "rejected"}
    assert quantity_of(world.wh_a, world.product) == 1
    movement = StockMovement.objects.get(kind="purchase")
    assert (movement.actor, movement.reference_id) == (world.admin, fits.pk)
    assert AuditEvent.objects.filter(action="purchase_request.approve", actor=world.admin).count() == 1


def test_reject_selected_rejects_through_the_service(world, admin_client):
    purchase = PurchaseRequestFactory(warehouse=world.wh_b, product=world.product, requested_by=world.viewer)
    admin_client.post(PURCHASES, {"action": "reject_selected", "_selected_action": [purchase.pk]})
    purchase.refresh_from_db()
    assert (purchase.status, purchase.decided_by) == ("rejected", world.admin)
    assert AuditEvent.objects.filter(action="purchase_request.reject").count() == 1


def test_transfer_admin_actions_move_stock_through_the_service(world, admin_client):
    put_stock(world, world.wh_a, 10)
    transfer = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                      product=world.product, quantity=6, requested_by=world.manager_a)
    response = admin_client.post(TRANSFERS, {"action": "approve_selected", "_selected_action": [transfer.pk]},
                                 follow=True)
    assert "1 request(s) approved." in _messages(response)
    transfer.refresh_from_db()
    assert transfer.status == "approved"
    assert (quantity_of(world.wh_a, world.product), quantity_of(world.wh_b, world.product)) == (4, 6)


def test_requests_cannot_be_added_changed_or_deleted_in_the_admin(world, admin_client):
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    assert admin_client.get(PURCHASES).status_code == 200
    assert admin_client.get(f"{PURCHASES}?status__exact=pending&warehouse__id__exact={world.wh_a.pk}").status_code \
        == 200
    assert admin_client.get(TRANSFERS).status_code == 200
    assert admin_client.get(f"{PURCHASES}add/").status_code == 403
    page = admin_client.get(f"{PURCHASES}{purchase.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = admin_client.post(f"{PURCHASES}{purchase.pk}/change/", {"status": "approved", "quantity": 99})
    assert response.status_code == 403
    assert admin_client.post(f"{PURCHASES}{purchase.pk}/delete/", {"post": "yes"}).status_code == 403
    purchase.refresh_from_db()
    assert (purchase.status, purchase.quantity) == ("pending", 1)


def test_a_non_admin_cannot_use_the_request_admin(world):
    client = Client()
    world.manager_a.is_staff = True
    world.manager_a.save()
    client.force_login(world.manager_a)
    assert client.get(PURCHASES).status_code == 403


def test_transfer_admin_shows_lines_and_ships_and_cancels_through_the_services(world, admin_client):
    from workflows.services import create_transfer_request, decide_transfer_request

    put_stock(world, world.wh_a, 10)
    put_stock(world, world.wh_a, 5, world.product2)
    to_ship, to_cancel = (
        create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b, mode="in_transit",
                                lines=[(world.product, 3), (world.product2, 2)]) for _ in range(2))
    for transfer in (to_ship, to_cancel):
        decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    page = admin_client.get(f"{TRANSFERS}{to_ship.pk}/change/")
    assert page.status_code == 200
    assert b"Shipped quantity" in page.content and b"Rejected quantity" in page.content
    admin_client.post(TRANSFERS, {"action": "ship_selected", "_selected_action": [to_ship.pk]})
    response = admin_client.post(TRANSFERS, {"action": "cancel_selected",
                                             "_selected_action": [to_ship.pk, to_cancel.pk]}, follow=True)
    messages = _messages(response)
    assert "1 request(s) cancelled." in messages
    assert any(m.startswith(f"#{to_ship.pk}: ") for m in messages)  # shipped: invalid_state, reported
    to_ship.refresh_from_db()
    to_cancel.refresh_from_db()
    assert (to_ship.status, to_cancel.status) == ("in_transit", "cancelled")
    assert quantity_of(world.wh_a, world.product) == 7
    assert AuditEvent.objects.filter(action="transfer_request.ship", actor=world.admin).count() == 1


def test_transfer_admin_shows_the_lots_each_line_carried(world, admin_client):
    from inventory.models import Product
    from inventory.services import assign_stock
    from inventory.tests.factories import ProductFactory
    from workflows.services import create_transfer_request, decide_transfer_request

    milk = ProductFactory(tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="LOT-OLD")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="LOT-NEW")
    transfer = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b, product=milk,
                                       quantity=3)
    decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    page = admin_client.get(f"{TRANSFERS}{transfer.pk}/change/")
    assert page.status_code == 200
    assert b"LOT-OLD: 2 / 2 / 0; LOT-NEW: 1 / 1 / 0" in page.content
