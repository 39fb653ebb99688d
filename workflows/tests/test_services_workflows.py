"""The workflow services called directly: the rules hold for every caller, not only the API."""

import pytest

from accounts.models import AuditEvent
from core.errors import DomainError, NotFound, NotPending, PermissionDenied
from inventory.errors import InactiveObject, InvalidQuantity
from inventory.models import StockMovement
from workflows import services
from workflows.models import PurchaseRequest, TransferRequest

from .conftest import ledger_consistent, put_stock, quantity_of, snapshot

pytestmark = pytest.mark.django_db


def test_create_purchase_request_records_an_audit_event_in_the_same_transaction(world):
    purchase = services.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                                quantity=2, reason="fix", ip="10.0.0.1")
    assert (purchase.status, purchase.requested_by) == ("pending", world.viewer)
    event = AuditEvent.objects.get(action="purchase_request.create")
    assert (event.ip, event.data) == ("10.0.0.1", {"warehouse": world.wh_a.pk, "product": world.product.pk,
                                                   "quantity": 2})


@pytest.mark.parametrize("role", ["admin", "manager_a", "staff_a"])
def test_only_a_viewer_may_create_a_purchase_request(world, role):
    with pytest.raises(PermissionDenied):
        services.create_purchase_request(actor=getattr(world, role), warehouse=world.wh_a, product=world.product,
                                         quantity=1)
    assert not PurchaseRequest.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 10**30, True, "3"])
def test_service_refuses_bad_quantities(world, quantity):
    with pytest.raises(InvalidQuantity):
        services.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                         quantity=quantity)


def test_service_refuses_inactive_objects(world):
    world.product.is_active = False
    world.product.save()
    with pytest.raises(InactiveObject):
        services.create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=world.product,
                                         quantity=1)
    with pytest.raises(InactiveObject):
        services.create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                         product=world.product, quantity=1)


def test_unknown_decision_is_refused_before_anything_is_locked_or_written(world, purchase):
    put_stock(world, world.wh_a, 10)
    before = snapshot()
    with pytest.raises(services.InvalidDecision):
        services.decide_purchase_request(actor=world.admin, request_id=purchase.pk, decision="approved")
    with pytest.raises(services.InvalidDecision):
        services.decide_transfer_request(actor=world.admin, request_id=purchase.pk, decision="")
    assert snapshot() == before


def test_decision_checks_scope_then_permission_then_state(world, purchase):
    put_stock(world, world.wh_a, 10)
    with pytest.raises(NotFound):
        services.decide_purchase_request(actor=world.staff_b, request_id=purchase.pk, decision="approve")
    with pytest.raises(NotFound):
        services.decide_purchase_request(actor=world.admin, request_id=10**9, decision="approve")
    with pytest.raises(PermissionDenied):
        services.decide_purchase_request(actor=world.viewer, request_id=purchase.pk, decision="approve")
    services.decide_purchase_request(actor=world.staff_a, request_id=purchase.pk, decision="reject", reason="r")
    with pytest.raises(PermissionDenied):  # 403 stays 403 after the decision: state is not leaked to them
        services.decide_purchase_request(actor=world.viewer, request_id=purchase.pk, decision="approve")
    with pytest.raises(NotPending):
        services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="approve")


def test_an_approved_purchase_is_recorded_in_the_ledger_and_the_audit_trail(world, purchase):
    put_stock(world, world.wh_a, 3)
    decided = services.decide_purchase_request(actor=world.manager_a, request_id=purchase.pk, decision="approve",
                                               reason="ok", ip="10.1.1.1")
    assert (decided.status, decided.decided_by, decided.decision_reason) == ("approved", world.manager_a, "ok")
    assert decided.decided_at is not None
    assert quantity_of(world.wh_a, world.product) == 0
    event = AuditEvent.objects.get(action="purchase_request.approve")
    movement = StockMovement.objects.get(kind="purchase")
    assert event.data == {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 3,
                          "movement": movement.pk, "quantity_after": 0, "reason": "ok"}
    assert event.ip == "10.1.1.1"
    assert ledger_consistent()


def test_cancel_records_who_and_when(world, purchase):
    cancelled = services.cancel_purchase_request(actor=world.viewer, request_id=purchase.pk)
    assert (cancelled.status, cancelled.decided_by) == ("cancelled", world.viewer)
    assert cancelled.decided_at is not None


def test_transfer_creation_rules(world):
    with pytest.raises(PermissionDenied):
        services.create_transfer_request(actor=world.staff_a, source=world.wh_a, destination=world.wh_b,
                                         product=world.product, quantity=1)
    with pytest.raises(DomainError) as err:
        services.create_transfer_request(actor=world.manager_a, source=world.wh_a, destination=world.wh_a,
                                         product=world.product, quantity=1)
    assert err.value.code == "same_warehouse"
    transfer = services.create_transfer_request(actor=world.manager_b, source=world.wh_a, destination=world.wh_b,
                                                product=world.product, quantity=2, reason="need it")
    assert (transfer.status, transfer.requested_by, transfer.reason) == ("pending", world.manager_b, "need it")
    assert TransferRequest.objects.count() == 1


def test_only_an_admin_decides_a_transfer(world, transfer):
    put_stock(world, world.wh_a, 10)
    with pytest.raises(PermissionDenied):
        services.decide_transfer_request(actor=world.manager_a, request_id=transfer.pk, decision="approve")
    with pytest.raises(NotFound):
        services.decide_transfer_request(actor=world.viewer, request_id=transfer.pk, decision="approve")
    decided = services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    assert decided.status == "approved"
    event = AuditEvent.objects.get(action="transfer_request.approve")
    assert sorted(event.data["movements"]) == sorted(
        StockMovement.objects.filter(reference_type="transfer_request").values_list("pk", flat=True))


def test_a_dismissed_admin_can_no_longer_decide(world, transfer):
    world.admin.status = "dismissed"
    world.admin.save()
    with pytest.raises(NotFound):
        services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="reject")
