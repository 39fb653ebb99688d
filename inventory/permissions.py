"""DRF permission classes of the inventory API, built from `inventory.policies`.

The warehouse of a stock operation or a new threshold comes in the body, so the view's class asks
whether the user may act in some warehouse, and the service asks the object-level policy for the
given warehouse inside its transaction (403 `permission_denied` when it says no).
"""

from accounts.permissions import IsActiveUser, ReadOnly, policy_permission

from . import policies

CanEditProducts = policy_permission("CanEditProducts", user=policies.can_edit_products,
                                    doc="Creates and changes products (admin, manager).")
CanAssignStock = policy_permission("CanAssignStock", user=policies.may_assign_somewhere,
                                   doc="Assigns stock (admin; manager, in the warehouses they manage).")
CanAdjustStock = policy_permission("CanAdjustStock", user=policies.may_adjust_somewhere,
                                   doc="Adjusts stock (admin; manager and staff, in their warehouses).")
CanSetThresholds = policy_permission(
    "CanSetThresholds", user=policies.may_set_thresholds_somewhere,
    obj=lambda user, row: policies.can_set_thresholds(user, row.warehouse),
    doc="Writes low-stock thresholds (admin; manager, in the warehouses they manage).",
)
CanReadLedger = policy_permission("CanReadLedger", user=policies.can_read_ledger,
                                  doc="Reads the ledger of the warehouses the user operates.")
CanReadAlerts = policy_permission("CanReadAlerts", user=policies.can_read_alerts,
                                  doc="Reads the alerts of the warehouses the user operates.")

CanReserve = policy_permission(
    "CanReserve", user=policies.may_reserve_somewhere,
    obj=lambda user, reservation: policies.can_act_on_reservation(user, reservation),
    doc="Reads, creates, releases and fulfils reservations (admin; manager and staff, in their warehouses).",
)

PRODUCT_PERMISSIONS = [IsActiveUser & (ReadOnly | CanEditProducts)]
THRESHOLD_PERMISSIONS = [IsActiveUser & (ReadOnly | CanSetThresholds)]
ASSIGN_PERMISSIONS = [IsActiveUser & CanAssignStock]
ADJUST_PERMISSIONS = [IsActiveUser & CanAdjustStock]
LEDGER_PERMISSIONS = [IsActiveUser & CanReadLedger]
ALERT_PERMISSIONS = [IsActiveUser & CanReadAlerts]
RESERVATION_PERMISSIONS = [IsActiveUser & CanReserve]

CanImportProducts = policy_permission("CanImportProducts", user=policies.can_import_products,
                                      doc="Imports the catalogue from a CSV file (admin, manager).")
CanImportStock = policy_permission("CanImportStock", user=policies.may_import_stock_somewhere,
                                   doc="Imports stock from a CSV file (admin; manager, into their warehouses).")

PRODUCT_IMPORT_PERMISSIONS = [IsActiveUser & CanImportProducts]
STOCK_IMPORT_PERMISSIONS = [IsActiveUser & CanImportStock]

CanCreateLots = policy_permission("CanCreateLots", user=policies.can_create_lots,
                                  doc="Adds lots to lot-tracked products (admin, manager).")
CanCorrectLotExpiry = policy_permission("CanCorrectLotExpiry", user=policies.can_correct_lot_expiry,
                                        doc="Corrects a lot's expires_on (admin).")
CanTraceLots = policy_permission("CanTraceLots", user=policies.can_trace_lots,
                                 doc="Reads a lot's recall trace and consumers (admin; manager and staff, their "
                                     "warehouses' parts).")

LOT_READ_PERMISSIONS = [IsActiveUser]
LOT_CREATE_PERMISSIONS = [IsActiveUser & CanCreateLots]
LOT_CORRECT_PERMISSIONS = [IsActiveUser & CanCorrectLotExpiry]
LOT_TRACE_PERMISSIONS = [IsActiveUser & CanTraceLots]
