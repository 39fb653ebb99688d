"""Who may read the stock-movement report, and over which warehouses."""

from accounts import roles
from warehouses.models import Warehouse


def can_read_reports(user) -> bool:
    """Admins, managers and staff read reports (of the warehouses in `report_warehouses`)."""
    return roles.is_admin(user) or roles.is_manager(user) or roles.is_staff_member(user)


def can_report_on_all_warehouses(user) -> bool:
    """Only an admin may ask for one report over every warehouse."""
    return roles.is_admin(user)


def report_warehouses(user):
    """The warehouses a user may report on: those they operate (any other is a 404)."""
    return Warehouse.objects.operated_by(user)
