"""Who may do what with products, stock, thresholds, the ledger and alerts.

Built from `accounts.policies` (who the user is) and `warehouses.policies` (their warehouse scope).
The DRF permission classes (`inventory.permissions`) ask these, and every service asks again inside
its transaction, so the API, the admin and commands answer the same question the same way.
"""

from accounts.roles import is_admin
from warehouses.policies import can_manage, can_operate, manages_any, operates_any


def can_edit_products(user) -> bool:
    """Create and change products: admins and managers."""
    return manages_any(user)


def can_assign_stock(user, warehouse) -> bool:
    """Assign (add) stock: an admin, or the warehouse's manager."""
    return can_manage(user, warehouse)


def can_adjust_stock(user, warehouse) -> bool:
    """Adjust stock (counts, damage, receipts): an admin, or the warehouse's manager or staff."""
    return can_operate(user, warehouse)


def can_change_stock(user, warehouse) -> bool:
    """The rule every stock service re-checks: the actor operates each warehouse whose quantity it changes."""
    return can_operate(user, warehouse)


def can_set_thresholds(user, warehouse) -> bool:
    """Create, change and delete low-stock thresholds: an admin, or the warehouse's manager."""
    return can_manage(user, warehouse)


def may_assign_somewhere(user) -> bool:
    """Could assign stock in some warehouse (admin, manager): the gate before the warehouse is known."""
    return manages_any(user)


def may_adjust_somewhere(user) -> bool:
    """Could adjust stock in some warehouse (admin, manager, staff)."""
    return operates_any(user)


def may_set_thresholds_somewhere(user) -> bool:
    """Could set thresholds in some warehouse (admin, manager)."""
    return manages_any(user)


def can_read_ledger(user) -> bool:
    """The ledger list (scoped to the warehouses the user operates): admins, managers, staff."""
    return operates_any(user)


def can_read_alerts(user) -> bool:
    """The alert list (scoped to the warehouses the user operates): admins, managers, staff."""
    return operates_any(user)


def can_reserve(user, warehouse) -> bool:
    """Reserve stock in a warehouse: an admin, or the warehouse's manager or staff."""
    return can_operate(user, warehouse)


def can_see_reservation(user, reservation) -> bool:
    """One reservation is in the user's scope: the same answer as `Reservation.objects.for_user(user)` (the
    warehouses the user operates), asked of a row already read (with its warehouse) instead of a query."""
    return can_operate(user, reservation.warehouse)


def can_act_on_reservation(user, reservation) -> bool:
    """Release or fulfil a reservation: an admin, or the manager or staff of its warehouse."""
    return can_operate(user, reservation.warehouse)


def may_reserve_somewhere(user) -> bool:
    """Could reserve stock in some warehouse (admin, manager, staff): the gate of the reservation API."""
    return operates_any(user)


# --- files (SPEC §13) ----------------------------------------------------------------------------


def can_import_products(user) -> bool:
    """Import the catalogue from a file: whoever may create and change products (admins, managers)."""
    return can_edit_products(user)


def can_import_stock(user, warehouse) -> bool:
    """Import stock into a warehouse: an admin, or its manager (a `set` is a count, an `assign` an assignment)."""
    return can_manage(user, warehouse)


def may_import_stock_somewhere(user) -> bool:
    """Could import stock into some warehouse (admin, manager)."""
    return manages_any(user)


# --- lots (SPEC §14) -----------------------------------------------------------------------------


def can_create_lots(user) -> bool:
    """Add a lot to a lot-tracked product: whoever may create and change products (admins, managers)."""
    return can_edit_products(user)


def can_correct_lot_expiry(user) -> bool:
    """Correct a lot's `expires_on` (it changes what is available everywhere): admins only."""
    return is_admin(user)


def can_trace_lots(user) -> bool:
    """A lot's recall trace and consumers: admins (everything), managers and staff (their warehouses' parts)."""
    return operates_any(user)
