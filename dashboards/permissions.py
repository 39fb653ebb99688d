"""DRF permission classes of the dashboards, backed by `dashboards.policies`."""

from accounts.permissions import policy_permission

from . import policies

CanViewAdminDashboard = policy_permission(
    "CanViewAdminDashboard", user=policies.can_view_admin_dashboard, doc="Admins.")
CanViewWarehouseDashboards = policy_permission(
    "CanViewWarehouseDashboards", user=policies.can_view_warehouse_dashboards,
    doc="Admins, managers and staff (a warehouse they do not operate is a 404).")
