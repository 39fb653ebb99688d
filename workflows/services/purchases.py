"""Purchase and transfer request workflows: create, decide, cancel.

Every decision locks the request row first (`select_for_update`) and only then calls the stock
service, which locks stock rows second; that fixed order (request, then stock in primary-key order)
is what keeps concurrent decisions free of deadlocks. A request is decided exactly once: the row
lock serializes concurrent deciders and every one after the first sees it is no longer pending.
"""

from django.db import transaction

from accounts.audit import record_event
from core.decisions import Decision, RequestStatus
from core.errors import DomainError, NotFound, NotPending, PermissionDenied
from inventory.models import Product
from inventory.services import Reference, check_active, check_quantity, deduct_stock, move_stock
from warehouses.models import Warehouse

from . import policies
from .models import PurchaseRequest, TransferRequest


class InvalidDecision(DomainError):
    """The decision is neither `approve` nor `reject` (the API's serializer refuses it earlier)."""

    code = "invalid_decision"
    default_detail = "The decision must be 'approve' or 'reject'."


class SameWarehouse(DomainError):
    """A transfer's source and destination are one warehouse (`same_warehouse`; one class for the workflows)."""

    code = "same_warehouse"
    default_detail = "Source and destination must differ."


def _check_decision(decision: str) -> None:
    if decision not in Decision.values:
        raise InvalidDecision()


def _lock_pending(model, *, actor, request_id: int, allowed, denied: str):
    """Lock the request row; then 404 unless the actor sees it, 403 unless `allowed`, 409 unless pending."""
    obj = model.objects.select_for_update().filter(pk=request_id).first()
    if obj is None or not model.objects.for_user(actor).filter(pk=obj.pk).exists():
        raise NotFound(f"No {model._meta.verbose_name} with id {request_id}.")
    if not allowed(actor, obj):
        raise PermissionDenied(denied)
    if not obj.is_pending:
        raise NotPending(f"This request is already {obj.status}.")
    return obj


def _record_decision(request_obj, *, kind: str, actor, decision: str, reason: str, data: dict, ip: str | None):
    """Mark the locked, pending request approved or rejected and audit it (`purchase_request.approve`, …)."""
    status = RequestStatus.APPROVED if decision == Decision.APPROVE else RequestStatus.REJECTED
    request_obj.mark_decided(actor=actor, status=status, reason=reason)
    record_event(actor=actor, action=f"{kind}.{decision}", target=request_obj, ip=ip,
                 data={**data, "reason": request_obj.decision_reason})
    return request_obj


# --- Purchase requests --------------------------------------------------------------------------

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
    _check_decision(decision)
    purchase = _lock_pending(
        PurchaseRequest, actor=actor, request_id=request_id, allowed=policies.can_decide_purchase,
        denied="Only an admin or this warehouse's manager or staff may decide this request.")
    data = {"warehouse": purchase.warehouse_id, "product": purchase.product_id, "quantity": purchase.quantity}
    if decision == Decision.APPROVE:
        movement = deduct_stock(actor=actor, warehouse=purchase.warehouse, product=purchase.product,
                                quantity=purchase.quantity, reference=Reference("purchase_request", purchase.pk))
        data.update(movement=movement.pk, quantity_after=movement.quantity_after)
    return _record_decision(purchase, kind="purchase_request", actor=actor, decision=decision, reason=reason,
                            data=data, ip=ip)


@transaction.atomic
def cancel_purchase_request(*, actor, request_id: int, ip: str | None = None) -> PurchaseRequest:
    """The requester withdraws their own pending purchase request.

    Locks: the request row. Raises NotFound if unknown or outside the actor's scope,
    PermissionDenied unless the actor is the requester, NotPending if it was already decided.
    """
    purchase = _lock_pending(PurchaseRequest, actor=actor, request_id=request_id,
                             allowed=policies.can_cancel_purchase,
                             denied="Only the requester may cancel a purchase request.")
    purchase.mark_decided(actor=actor, status=RequestStatus.CANCELLED, reason="")
    record_event(actor=actor, action="purchase_request.cancel", target=purchase, ip=ip,
                 data={"warehouse": purchase.warehouse_id, "product": purchase.product_id})
    return purchase


# --- Transfer requests --------------------------------------------------------------------------

@transaction.atomic
def create_transfer_request(*, actor, source: Warehouse, destination: Warehouse, product: Product, quantity: int,
                            reason: str = "", ip: str | None = None) -> TransferRequest:
    """Ask to move `quantity` of a product from `source` to `destination`; starts `pending`.

    Locks nothing. Raises PermissionDenied unless the actor is an admin or the manager of either
    warehouse; SameWarehouse (`same_warehouse`), InactiveObject, InvalidQuantity.
    """
    if not policies.can_create_transfer(actor, source, destination):
        raise PermissionDenied("Only an admin or the manager of the source or destination may request a transfer.")
    if source.pk == destination.pk:
        raise SameWarehouse()
    check_quantity(quantity)
    check_active(warehouses=[source, destination], product=product)
    transfer = TransferRequest.objects.create(
        source_warehouse=source, destination_warehouse=destination, product=product, quantity=quantity,
        reason=reason or "", requested_by=actor,
    )
    record_event(actor=actor, action="transfer_request.create", target=transfer, ip=ip,
                 data={"source_warehouse": source.pk, "destination_warehouse": destination.pk,
                       "product": product.pk, "quantity": quantity})
    return transfer


@transaction.atomic
def decide_transfer_request(*, actor, request_id: int, decision: str, reason: str = "",
                            ip: str | None = None) -> TransferRequest:
    """Approve (move the stock: `transfer_out` + `transfer_in`) or reject a pending transfer.

    Locks: the request row first, then (on approve) both stock rows in primary-key order through
    `move_stock`. Raises InvalidDecision; NotFound if unknown or outside the actor's scope;
    PermissionDenied unless the actor is an admin; NotPending if already decided;
    InsufficientStock (nothing written, stays pending) or InactiveObject from the stock service.
    """
    _check_decision(decision)
    transfer = _lock_pending(TransferRequest, actor=actor, request_id=request_id,
                             allowed=policies.can_decide_transfer,
                             denied="Only an admin may decide a transfer request.")
    data = {"source_warehouse": transfer.source_warehouse_id, "destination_warehouse":
            transfer.destination_warehouse_id, "product": transfer.product_id, "quantity": transfer.quantity}
    if decision == Decision.APPROVE:
        out_row, in_row = move_stock(actor=actor, source=transfer.source_warehouse,
                                     destination=transfer.destination_warehouse, product=transfer.product,
                                     quantity=transfer.quantity, reference=Reference("transfer_request", transfer.pk))
        data.update(movements=[out_row.pk, in_row.pk])
    return _record_decision(transfer, kind="transfer_request", actor=actor, decision=decision, reason=reason,
                            data=data, ip=ip)
