"""Who may do what with a warehouse: the scope predicates every app's policies build on.

Admin: every warehouse. Manager: the warehouses whose `manager` is them. Staff: their own
warehouse (`user.warehouse`). Viewer: none beyond the catalogue. The queryset methods
`Warehouse.objects.operated_by/managed_by` answer the same questions for many warehouses at once.
"""

from accounts.roles import is_admin, is_manager, is_staff_member


def can_edit_warehouses(user) -> bool:
    """Create, change and delete warehouses: admins only."""
    return is_admin(user)


def can_manage(user, warehouse) -> bool:
    """Manage a warehouse (assign stock, thresholds, staff): an admin, or its manager."""
    if is_admin(user):
        return True
    return is_manager(user) and warehouse.manager_id == user.pk


def can_operate(user, warehouse) -> bool:
    """Work in a warehouse (adjust stock, its ledger, requests, dashboards): admin, its manager or its staff."""
    if can_manage(user, warehouse):
        return True
    return is_staff_member(user) and user.warehouse_id is not None and user.warehouse_id == warehouse.pk


def operates_any(user) -> bool:
    """A user who may operate some warehouse (admin, manager, staff): the gate of warehouse-private lists."""
    return is_admin(user) or is_manager(user) or is_staff_member(user)


def manages_any(user) -> bool:
    """A user who may manage some warehouse (admin, manager)."""
    return is_admin(user) or is_manager(user)
