"""Who may do what with webhook endpoints (SPEC §16): one named predicate per question, asked by the DRF
permission classes, the Django admin and the services (again, under the endpoint's row lock)."""

from accounts import roles
from warehouses.models import Warehouse

from .models import WebhookEndpoint


def can_manage_webhooks(user) -> bool:
    """Admins and managers have webhook endpoints; nobody else."""
    return roles.is_admin(user) or roles.is_manager(user)


def can_act_on_endpoint(user, endpoint: WebhookEndpoint) -> bool:
    """An admin, any endpoint; a manager, their own."""
    if roles.is_admin(user):
        return True
    return roles.is_manager(user) and endpoint.created_by_id == user.pk


def can_subscribe_to_warehouses(user, warehouse_ids) -> bool:
    """An admin, any warehouses; a manager, only warehouses they manage."""
    if roles.is_admin(user):
        return True
    wanted = set(warehouse_ids)
    if not roles.is_manager(user):
        return False
    return not wanted or Warehouse.objects.managed_by(user).filter(pk__in=wanted).count() == len(wanted)


def can_reactivate(user, endpoint: WebhookEndpoint) -> bool:
    """An endpoint disabled because its owner lost their access comes back only by an admin's hand."""
    if endpoint.disabled_reason == WebhookEndpoint.DisabledReason.OWNER_CHANGED:
        return roles.is_admin(user)
    return can_act_on_endpoint(user, endpoint)
