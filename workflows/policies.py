"""Who may create, decide and cancel purchase and transfer requests: one named predicate per question.

The DRF permission classes (`workflows.permissions`), the Django admin actions and the services
(again, under the request's row lock) all ask these same functions. Visibility (404) is the
querysets' `for_user`; these answer "may this user act on what they see" (403).
"""

from accounts import policies as roles
from warehouses.models import Warehouse

from .models import TransferStatus


def can_request_purchases(user) -> bool:
    """Viewers create purchase requests."""
    return roles.is_viewer(user)


def can_create_purchase_request(user, warehouse) -> bool:
    """A viewer, from a warehouse they can see."""
    return can_request_purchases(user) and Warehouse.objects.for_user(user).filter(pk=warehouse.pk).exists()


def can_decide_purchase(user, purchase) -> bool:
    """An admin, or the manager or staff of the request's warehouse."""
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
    """An admin; or the requester while the transfer is still pending."""
    if roles.is_admin(user):
        return True
    return roles.is_active(user) and transfer.requested_by_id == user.pk and transfer.status == TransferStatus.PENDING
