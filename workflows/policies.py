"""Who may create, decide and cancel purchase and transfer requests: one named predicate per question.

The DRF permission classes (`workflows.permissions`), the Django admin actions and the services
(again, under the request's row lock) all ask these same functions. Visibility (404) is the
querysets' `for_user`; these answer "may this user act on what they see" (403).
"""

from accounts import roles
from warehouses.models import Warehouse
from warehouses.policies import can_manage, can_operate, operates_any

from .models import PurchaseRequest, TransferStatus


def can_request_purchases(user) -> bool:
    """Viewers create purchase requests."""
    return roles.is_viewer(user)


def can_create_purchase_request(user, warehouse) -> bool:
    """A viewer, from a warehouse they can see."""
    return can_request_purchases(user) and Warehouse.objects.for_user(user).filter(pk=warehouse.pk).exists()


def can_see_purchase(user, purchase) -> bool:
    """One purchase request is in the user's scope: the same answer as `PurchaseRequest.objects.for_user(user)`
    (an active user's own requests, and every request of the warehouses they operate), asked of a row
    already read instead of a query. Reads `purchase.warehouse` for a manager (load it along)."""
    if not roles.is_active(user):
        return False
    return purchase.requested_by_id == user.pk or _operates_warehouse_of(user, purchase)


def can_decide_purchase(user, purchase) -> bool:
    """An admin, or the manager or staff of the request's warehouse."""
    return _operates_warehouse_of(user, purchase)


def _operates_warehouse_of(user, purchase) -> bool:
    """`Warehouse.objects.operated_by(user)` holds the request's warehouse; asked without a query when
    the answer needs none (an admin operates every warehouse; staff their own, by id) or the warehouse
    was read along with the request (a manager: its `manager_id`)."""
    if roles.is_admin(user):
        return True
    if roles.is_staff_member(user):
        return user.warehouse_id is not None and user.warehouse_id == purchase.warehouse_id
    if PurchaseRequest.warehouse.is_cached(purchase):
        return can_operate(user, purchase.warehouse)
    return Warehouse.objects.operated_by(user).filter(pk=purchase.warehouse_id).exists()


def can_cancel_purchase(user, purchase) -> bool:
    """Only the requester withdraws their own request."""
    return roles.is_active(user) and purchase.requested_by_id == user.pk


def can_request_transfers(user) -> bool:
    """Admins and managers create transfer requests (for which warehouses: `can_create_transfer`)."""
    return roles.is_admin(user) or roles.is_manager(user)


def can_create_transfer(user, source, destination) -> bool:
    """An admin, or the manager of the source or the destination."""
    return Warehouse.objects.managed_by(user).filter(pk__in=[source.pk, destination.pk]).exists()


def can_decide_transfer(user, transfer) -> bool:
    """Only an admin decides transfers."""
    return roles.is_admin(user)


def can_ship(user, transfer) -> bool:
    """An admin, or the manager or staff of the source: the people who load the truck."""
    return Warehouse.objects.operated_by(user).filter(pk=transfer.source_warehouse_id).exists()


def can_receive(user, transfer) -> bool:
    """An admin, or the manager or staff of the destination: the people who unload it."""
    return Warehouse.objects.operated_by(user).filter(pk=transfer.destination_warehouse_id).exists()


def can_close(user, transfer) -> bool:
    """An admin, or the manager of the destination (writing units off as lost needs a manager)."""
    return Warehouse.objects.managed_by(user).filter(pk=transfer.destination_warehouse_id).exists()


def can_cancel_transfer(user, transfer) -> bool:
    """An admin; or, while the transfer is still pending, its requester, or the destination's manager when a
    reorder rule created it (nobody requested it; SPEC §15)."""
    if roles.is_admin(user):
        return True
    if not roles.is_active(user) or transfer.status != TransferStatus.PENDING:
        return False
    if transfer.requested_by_id is not None:
        return transfer.requested_by_id == user.pk
    return is_generated(transfer) and Warehouse.objects.managed_by(user).filter(
        pk=transfer.destination_warehouse_id).exists()


def is_generated(transfer) -> bool:
    """A transfer a reorder rule created (no person requested it; the rule may since have been deleted)."""
    return transfer.requested_by_id is None


# --- reorder rules (SPEC §15) ----------------------------------------------------------------------


def may_read_rules(user) -> bool:
    """Lists reorder rules (admin; manager and staff, of their warehouses): the gate that refuses viewers."""
    return operates_any(user)


def can_edit_rule_of(user, warehouse) -> bool:
    """Create, change, delete and evaluate the reorder rules of a warehouse: an admin or its manager."""
    return can_manage(user, warehouse)


def can_edit_rule(user, rule) -> bool:
    """The same, asked of a rule (reads `rule.warehouse`: load it along)."""
    return can_edit_rule_of(user, rule.warehouse)


# --- stock counts (SPEC §12) ---------------------------------------------------------------------


def can_count(user, warehouse) -> bool:
    """Open, fill in and submit counts of a warehouse: an admin, or its manager or staff."""
    return can_operate(user, warehouse)


def may_count_somewhere(user) -> bool:
    """Could count in some warehouse (admin, manager, staff): the gate of the count endpoints."""
    return operates_any(user)


def can_decide_count(user, count) -> bool:
    """Approve or reject a submitted count: an admin or the warehouse's manager, never the one who submitted it
    nor anyone whose counted values are in its lines (a second pair of eyes). One query for the lines."""
    return (can_manage(user, count.warehouse) and count.submitted_by_id != user.pk
            and not count.lines.filter(counted_by=user.pk).exists())


def can_cancel_count(user, count) -> bool:
    """Cancel a count: its creator (still operating the warehouse), the warehouse's manager, an admin."""
    return can_manage(user, count.warehouse) or (can_operate(user, count.warehouse) and count.created_by_id == user.pk)
