"""Inventory's error codes and domain errors (stock, the catalogue, thresholds, reservations, files)."""

from dataclasses import dataclass

from core.errors import Code, Conflict, DomainError, register_codes

CODES = register_codes({
    "duplicate_sku": Code(400, "a product with this SKU exists (case-insensitive)"),
    "duplicate_threshold": Code(400, "this product already has a threshold in this warehouse"),
    "invalid_quantity": Code(400, "the quantity is not a valid integer in range"),
    "invalid_reason": Code(400, "the adjustment reason is unknown"),
    "inactive": Code(400, "the warehouse or product is inactive"),
    "same_warehouse": Code(400, "source and destination are the same warehouse"),
    "invalid_file": Code(400, "an imported file is refused (with errors: [{row, field, message}])"),
    "stale_quantity": Code(409, "the quantity changed since the client read it (with current)"),
    "insufficient_stock": Code(409, "not enough available stock (with available, requested)"),
    "lot_required": Code(400, "units of a lot-tracked product coming in must name their lot"),
    "not_lot_tracked": Code(400, "a lot was named for a product that is not lot-tracked"),
    "lot_mismatch": Code(409, "the expiry date given differs from the known lot's (with expires_on)"),
    "duplicate_lot": Code(409, "the product already has a lot with this code (compared like SKUs)"),
    "product_has_stock": Code(409, "the product's tracking cannot change while it has stock or an open count line"),
})


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    default_detail = "Not enough stock available."

    def __init__(self, *, available: int, requested: int, detail: str | None = None, **extra):
        super().__init__(
            detail or f"Not enough stock: {available} available, {requested} requested.",
            available=available, requested=requested, **extra,
        )


class LotRequired(DomainError):
    """Units of a lot-tracked product come in (or a lot-tracked change is made) without naming a lot."""

    code = "lot_required"
    default_detail = "This product is lot-tracked: name the lot (its code)."


class NotLotTracked(DomainError):
    """A lot was named for a product that is not lot-tracked."""

    code = "not_lot_tracked"
    default_detail = "This product is not lot-tracked: it has no lots."


class LotMismatch(DomainError):
    """An `expires_on` was given that differs from the known lot's (carries the known `expires_on`)."""

    code = "lot_mismatch"

    def __init__(self, *, code: str, expires_on):
        super().__init__(f"Lot {code} expires on {expires_on.isoformat() if expires_on else 'no date'}; "
                         "a different date was given.", expires_on=expires_on.isoformat() if expires_on else None)


class DuplicateLot(DomainError):
    """The product already has a lot with this code (codes compare like SKUs)."""

    code = "duplicate_lot"
    default_detail = "This product already has a lot with this code."


class ProductHasStock(DomainError):
    """The product's tracking cannot switch while it holds stock or an open count has a line for it."""

    code = "product_has_stock"
    default_detail = "The product has stock (on hand, reserved or incoming) or an open count line."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_detail = "The quantity is not valid."


class InactiveObject(DomainError):
    code = "inactive"
    default_detail = "The warehouse or product is inactive."


class StaleQuantity(DomainError):
    """The row's quantity is not the one the client based its change on (optimistic concurrency)."""

    code = "stale_quantity"
    default_detail = "The quantity changed since you read it."


class InvalidReason(DomainError):
    """An adjustment names a reason that is not one of `StockMovement.Reason`."""

    code = "invalid_reason"
    default_detail = "Unknown reason."


class DuplicateSku(DomainError):
    """The SKU is taken by another product (case-insensitive)."""

    code = "duplicate_sku"
    default_detail = "A product with this SKU already exists (SKUs are case-insensitive)."


class DuplicateThreshold(DomainError):
    """The product already has a threshold in this warehouse."""

    code = "duplicate_threshold"
    default_detail = "This product already has a threshold in this warehouse."


class SameWarehouse(DomainError):
    """A move's (or a transfer's) source and destination are one warehouse."""

    code = "same_warehouse"
    default_detail = "Source and destination must differ."


class ReservationNotActive(DomainError):
    """The reservation is released, fulfilled or expired (or due to expire): it holds nothing to act on."""

    code = "not_active"
    default_detail = "This reservation is not active."


class InvalidReservation(DomainError):
    """A reservation's own rule refuses it (`expires_at` in the past or too far ahead, a reference too long)."""

    code = "invalid"


class InvalidImport(DomainError):
    """An import request the importer cannot run (an unknown mode); a bad file is `InvalidFile`."""

    code = "invalid"


@dataclass(frozen=True)
class RowError:
    """One problem of an imported file: its row (None for the whole file), the column, what is wrong, and for a
    problem that has a code of its own elsewhere in the API (a lot's: `lot_required`, `not_lot_tracked`,
    `lot_mismatch`) that `code` (SPEC §17: inside a file such a problem is a bad row)."""

    row: int | None
    field: str | None
    message: str
    code: str | None = None

    def as_dict(self) -> dict:
        """`{row, field, message}`, plus `code` when the problem has one."""
        data = {"row": self.row, "field": self.field, "message": self.message}
        if self.code:
            data["code"] = self.code
        return data


class InvalidFile(DomainError):
    """The file was refused; `errors` lists every problem found, nothing was written."""

    code = "invalid_file"

    def __init__(self, errors: list[RowError]):
        noun = "problem" if len(errors) == 1 else "problems"
        super().__init__(f"The file was not imported: {len(errors)} {noun} found, nothing was written.",
                         errors=[error.as_dict() for error in errors])


class ImportBusy(Conflict):
    """An import waited longer than IMPORT_LOCK_TIMEOUT_MS for a row another request holds, or one of its
    statements ran past IMPORT_STATEMENT_TIMEOUT_MS (PostgreSQL): nothing was written, try again."""

    default_detail = "The rows this file changes are busy; nothing was written. Try again in a moment."
