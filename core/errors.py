"""Domain errors and the one registry of error codes.

Services raise these plain exceptions; nothing below the views knows about HTTP. Each error carries
a stable `code` from `CODES`, and the API's exception handler (`core.handlers`) alone turns a code
into an HTTP status and the `{"detail", "code", ...}` body. A code that is not registered here is a
programming error, refused when the exception class is defined or raised.
"""

from typing import NamedTuple


class Code(NamedTuple):
    status: int
    meaning: str


# Every `code` the API answers, with its HTTP status. docs/DECISIONS.md lists the same table; a test
# keeps the two in step.
CODES: dict[str, Code] = {
    # 400: the request is well-formed but a rule refuses its content
    "invalid": Code(400, "a rule refused the request"),
    "parse_error": Code(400, "the body is not valid JSON"),
    "bad_request": Code(400, "the request breaks a protocol limit (size, fields, files)"),
    "duplicate_code": Code(400, "a warehouse with this code exists (case-insensitive)"),
    "duplicate_sku": Code(400, "a product with this SKU exists (case-insensitive)"),
    "duplicate_threshold": Code(400, "this product already has a threshold in this warehouse"),
    "duplicate_account": Code(400, "the username or e-mail is taken"),
    "invalid_decision": Code(400, "the decision is neither approve nor reject"),
    "not_eligible": Code(400, "the user cannot take part in this action"),
    "invalid_reassign_to": Code(400, "reassign_to is not another active manager"),
    "warehouse_required": Code(400, "the action needs a warehouse"),
    "warehouse_inactive": Code(400, "the warehouse is inactive"),
    "invalid_quantity": Code(400, "the quantity is not a valid integer in range"),
    "invalid_reason": Code(400, "the adjustment reason is unknown"),
    "inactive": Code(400, "the warehouse or product is inactive"),
    "same_warehouse": Code(400, "source and destination are the same warehouse"),
    "invalid_idempotency_key": Code(400, "the Idempotency-Key header is empty, too long or not printable"),
    "invalid_token": Code(400, "the password-reset link is malformed, expired or already used"),
    "invalid_file": Code(400, "an imported file is refused (with errors: [{row, field, message}])"),
    # 401
    "not_authenticated": Code(401, "no, bad or expired access token"),
    "invalid_credentials": Code(401, "wrong username or password"),
    "token_not_valid": Code(401, "the token is malformed, expired or blacklisted (400 on logout's body)"),
    "no_active_account": Code(401, "the refresh token's user is not active"),
    "user_inactive": Code(401, "the access token's user is not active"),
    # 403
    "permission_denied": Code(403, "the role or warehouse scope does not allow it"),
    "account_pending": Code(403, "the account awaits approval"),
    "account_rejected": Code(403, "the registration was rejected"),
    "account_dismissed": Code(403, "the account was dismissed"),
    "account_inactive": Code(403, "the account is not active"),
    # 404 .. 406
    "not_found": Code(404, "unknown, or outside the caller's scope"),
    "method_not_allowed": Code(405, "the method is not allowed here"),
    "not_acceptable": Code(406, "no acceptable representation"),
    # 409: the current state refuses the request
    "conflict": Code(409, "the request conflicts with the current state"),
    "insufficient_stock": Code(409, "not enough available stock (with available, requested)"),
    "not_pending": Code(409, "the request was already decided"),
    "already_pending": Code(409, "a pending request already exists"),
    "not_active": Code(409, "the user or reservation is not active"),
    "invalid_state": Code(409, "the document is not in a state that allows this action (with status)"),
    "stale_quantity": Code(409, "the quantity changed since the client read it (with current)"),
    "warehouse_in_use": Code(409, "the warehouse has stock, history, staff or settings"),
    "idempotency_key_reused": Code(409, "the Idempotency-Key was used with a different request"),
    # 415, 429, 500, 503
    "unsupported_media_type": Code(415, "the body's content type is not accepted"),
    "throttled": Code(429, "too many requests (with wait in seconds)"),
    "server_error": Code(500, "a bug; never an HTML page"),
    "database_unavailable": Code(503, "the database is not answering (health)"),
}


def status_of(error: "DomainError") -> int:
    """The HTTP status of a domain error: its code's, unless the error class says otherwise."""
    return error.status or CODES[error.code].status


def _check_code(code: str) -> None:
    if code not in CODES:
        raise ValueError(f"error code {code!r} is not registered in core.errors.CODES")


class DomainError(Exception):
    """A business rule refused the operation; carries a stable, registered `code` and a message."""

    code = "invalid"
    default_detail = "The request could not be completed."
    # Only where one code answers two ways (a bad refresh token in logout's body is a 400, not a 401).
    status: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _check_code(cls.code)

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra):
        if code is not None:
            _check_code(code)
            self.code = code
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)

    def as_dict(self) -> dict:
        return {"detail": self.detail, "code": self.code, **self.extra}


class PermissionDenied(DomainError):
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(DomainError):
    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    default_detail = "Not enough stock available."

    def __init__(self, *, available: int, requested: int, detail: str | None = None, **extra):
        super().__init__(
            detail or f"Not enough stock: {available} available, {requested} requested.",
            available=available, requested=requested, **extra,
        )


class NotPending(DomainError):
    code = "not_pending"
    default_detail = "This request has already been decided."


class AlreadyPending(DomainError):
    code = "already_pending"
    default_detail = "A pending request already exists."


class NotEligible(DomainError):
    code = "not_eligible"
    default_detail = "This user cannot take part in this action."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_detail = "The quantity is not valid."


class InactiveObject(DomainError):
    code = "inactive"
    default_detail = "The warehouse or product is inactive."


class InvalidState(Conflict):
    """A document is not in a state that allows the action; raise it with `status=` (the current state)."""

    code = "invalid_state"
    default_detail = "This action is not allowed in the current state."
