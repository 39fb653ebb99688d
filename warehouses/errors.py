"""Warehouses' error codes and domain errors (warehouses and staffing)."""

from core.errors import Code, Conflict, DomainError, NotEligible, register_codes

CODES = register_codes({
    "duplicate_code": Code(400, "a warehouse with this code exists (case-insensitive)"),
    "invalid_reassign_to": Code(400, "reassign_to is not another active manager"),
    "warehouse_required": Code(400, "the action needs a warehouse"),
    "warehouse_inactive": Code(400, "the warehouse is inactive"),
    "warehouse_in_use": Code(409, "the warehouse has stock, history, staff or settings"),
})


class DuplicateWarehouseCode(DomainError):
    """The code is taken by another warehouse (case-insensitive)."""

    code = "duplicate_code"
    default_detail = "A warehouse with this code already exists (codes are case-insensitive)."


class WarehouseInUse(Conflict):
    """Something refers to the warehouse, so it cannot be deleted."""

    code = "warehouse_in_use"
    default_detail = "This warehouse has stock, history, staff or settings: deactivate it instead."


class WarehouseRequired(NotEligible):
    """A demoted manager has no previous warehouse and none was given."""

    code = "warehouse_required"
    default_detail = "This manager has no previous warehouse; give one in `warehouse`."


class WarehouseInactive(NotEligible):
    """The warehouse a user would join is inactive."""

    code = "warehouse_inactive"
    default_detail = "The warehouse must be active."


class InvalidReassignTo(NotEligible):
    """`reassign_to` is not another active manager."""

    code = "invalid_reassign_to"
    default_detail = "reassign_to must be another active manager."
