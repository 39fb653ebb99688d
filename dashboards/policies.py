"""Who may read which dashboard: named predicates built on `accounts.policies` and warehouse scope."""

from accounts import roles
from warehouses.models import Warehouse


def can_view_admin_dashboard(user) -> bool:
    """The dashboard over every warehouse is the admins'."""
    return roles.is_admin(user)


def can_view_warehouse_dashboards(user) -> bool:
    """Admins, managers and staff read warehouse dashboards (which ones: `dashboard_warehouses`)."""
    return roles.is_admin(user) or roles.is_manager(user) or roles.is_staff_member(user)


def dashboard_warehouses(user):
    """The warehouses whose dashboard the user may read: those they operate (any other is a 404)."""
    return Warehouse.objects.operated_by(user)
