"""Purchase requests: a viewer asks, the warehouse's people decide (a `purchase` movement), the requester cancels."""

from django.db import transaction

from accounts.audit import record_event
from core.decisions import Decision, RequestStatus
from core.documents import lock_document, pending
from core.errors import PermissionDenied
from core.events import emit
from inventory.models import Product, StockMovement
from inventory.services import Reference, check_active, check_quantity, deduct_stock
from warehouses.models import Warehouse

from .. import policies
from ..events import PurchaseRequestChanged
from ..models import PurchaseRequest
from .common import check_decision, record_decision


@transaction.atomic
def create_purchase_request(*, actor, warehouse: Warehouse, product: Product, quantity: int, reason: str = "",
                            ip: str | None = None) -> PurchaseRequest:
    """A viewer asks for `quantity` of a product from a warehouse; the request starts `pending`.

    Locks nothing. Raises PermissionDenied unless the actor is an active viewer, InactiveObject,
    InvalidQuantity.
    """
    if not policies.can_create_purchase_request(actor, warehouse):
        raise PermissionDenied("Only viewers create purchase requests.")
    check_quantity(quantity)
    check_active(warehouses=[warehouse], product=product)
    purchase = PurchaseRequest.objects.create(
        warehouse=warehouse, product=product, quantity=quantity, reason=reason or "", requested_by=actor
    )
    record_event(actor=actor, action="purchase_request.create", target=purchase, ip=ip,
                 data={"warehouse": warehouse.pk, "product": product.pk, "quantity": quantity})
    emit(PurchaseRequestChanged(purchase_request=purchase, action="created"))
    return purchase


@transaction.atomic
def decide_purchase_request(*, actor, request_id: int, decision: str, reason: str = "",
                            ip: str | None = None) -> PurchaseRequest:
    """Approve (deduct the stock, a `purchase` movement) or reject a pending purchase request.

    Locks: the request row first, then (on approve) the stock row through `deduct_stock`.
    Raises InvalidDecision; NotFound if the request is unknown or outside the actor's scope;
    PermissionDenied unless the actor is an admin or the manager or staff of its warehouse;
    NotPending if it was already decided; InsufficientStock (nothing written, the request stays
    pending) or InactiveObject from the stock service.
    """
    check_decision(decision)
    purchase = lock_document(
        PurchaseRequest, actor=actor, pk=request_id, state=pending, allowed=policies.can_decide_purchase,
        denied="Only an admin or this warehouse's manager or staff may decide this request.",
        visible=policies.can_see_purchase, related=("warehouse", "product"))
    data = {"warehouse": purchase.warehouse_id, "product": purchase.product_id, "quantity": purchase.quantity}
    if decision == Decision.APPROVE:
        # No savepoint: every error of the deduction propagates out of this atomic block (nothing is caught).
        movements = deduct_stock(actor=actor, warehouse=purchase.warehouse, product=purchase.product,
                                 quantity=purchase.quantity,
                                 reference=Reference(StockMovement.ReferenceType.PURCHASE_REQUEST, purchase.pk),
                                 savepoint=False)
        data.update(movement=movements[-1].pk, quantity_after=movements[-1].quantity_after)
        if movements[0].lot_id:
            data.update(lots={movement.lot_id: -movement.quantity_change for movement in movements})
    record_decision(purchase, kind="purchase_request", actor=actor, decision=decision, reason=reason, data=data, ip=ip)
    emit(PurchaseRequestChanged(purchase_request=purchase, action="decided"))
    return purchase


@transaction.atomic
def cancel_purchase_request(*, actor, request_id: int, ip: str | None = None) -> PurchaseRequest:
    """The requester withdraws their own pending purchase request.

    Locks: the request row. Raises NotFound if unknown or outside the actor's scope,
    PermissionDenied unless the actor is the requester, NotPending if it was already decided.
    """
    purchase = lock_document(PurchaseRequest, actor=actor, pk=request_id, state=pending,
                             allowed=policies.can_cancel_purchase,
                             denied="Only the requester may cancel a purchase request.")
    purchase.mark_decided(actor=actor, status=RequestStatus.CANCELLED, reason="")
    record_event(actor=actor, action="purchase_request.cancel", target=purchase, ip=ip,
                 data={"warehouse": purchase.warehouse_id, "product": purchase.product_id})
    emit(PurchaseRequestChanged(purchase_request=purchase, action="cancelled"))
    return purchase
