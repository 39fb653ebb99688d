"""DRF permission classes of the warehouses API, built from `warehouses.policies`."""

from accounts.permissions import IsActiveUser, ReadOnly, policy_permission

from . import policies

CanEditWarehouses = policy_permission(
    "CanEditWarehouses", user=policies.can_edit_warehouses, doc="Creates, changes and deletes warehouses (admin)."
)

# The catalogue is read by every active user; writes are for admins.
WAREHOUSE_PERMISSIONS = [IsActiveUser & (ReadOnly | CanEditWarehouses)]
