"""Domain errors and the registry of error codes.

Services raise plain exceptions; nothing below the views knows about HTTP. Each error carries a
stable, registered `code`, and the API's exception handler (`core.handlers`) alone turns a code into
an HTTP status and the `{"detail", "code", ...}` body. Each app declares its own codes in its
`errors.py` (`register_codes({...})`, as Saleor keeps an error-code enum per app) before defining its
error classes; the protocol-level codes and those several apps share are declared here. A code that
is not registered is a programming error, refused when the exception class is defined or raised.
`all_codes()` is every app's codes; docs/DECISIONS.md lists the same table and a test keeps the two
in step.
"""

from typing import NamedTuple

from django.utils.module_loading import autodiscover_modules


class Code(NamedTuple):
    status: int
    meaning: str


_REGISTRY: dict[str, Code] = {}


def register_codes(codes: dict[str, Code]) -> dict[str, Code]:
    """Register an app's error codes (at import of its `errors.py`); returns them. A code registered twice
    with a different status or meaning is a ValueError."""
    for code, entry in codes.items():
        if _REGISTRY.setdefault(code, entry) != entry:
            raise ValueError(f"error code {code!r} is registered twice, differently")
    return codes


def all_codes() -> dict[str, Code]:
    """Every registered code: each installed app's `errors.py` is imported first."""
    autodiscover_modules("errors")
    return dict(_REGISTRY)


# The codes of the protocol and those several apps share (each app's own: its `errors.py`).
CODES = register_codes({
    # 400: the request is well-formed but a rule refuses its content
    "invalid": Code(400, "a rule refused the request"),
    "parse_error": Code(400, "the body is not valid JSON"),
    "bad_request": Code(400, "the request breaks a protocol limit (size, fields, files)"),
    "not_eligible": Code(400, "the user cannot take part in this action"),
    "invalid_idempotency_key": Code(400, "the Idempotency-Key header is empty, too long or not printable"),
    # 401
    "not_authenticated": Code(401, "no, bad or expired access token"),
    # 403
    "permission_denied": Code(403, "the role or warehouse scope does not allow it"),
    # 404 .. 406
    "not_found": Code(404, "unknown, or outside the caller's scope"),
    "method_not_allowed": Code(405, "the method is not allowed here"),
    "not_acceptable": Code(406, "no acceptable representation"),
    # 409: the current state refuses the request
    "conflict": Code(409, "the request conflicts with the current state"),
    "not_pending": Code(409, "the request was already decided"),
    "already_pending": Code(409, "a pending request already exists"),
    "not_active": Code(409, "the user or reservation is not active"),
    "invalid_state": Code(409, "the document is not in a state that allows this action (with status)"),
    "idempotency_key_reused": Code(409, "the Idempotency-Key was used with a different request"),
    # 415, 429, 500, 503
    "unsupported_media_type": Code(415, "the body's content type is not accepted"),
    "throttled": Code(429, "too many requests (with wait in seconds)"),
    "server_error": Code(500, "a bug; never an HTML page"),
    "database_unavailable": Code(503, "the database is not answering (health)"),
})


def status_of(error: "DomainError") -> int:
    """The HTTP status of a domain error: its code's, unless the error class says otherwise."""
    return error.status or _REGISTRY[error.code].status


def _check_code(code: str) -> None:
    if code not in _REGISTRY:
        raise ValueError(f"error code {code!r} is not registered (core.errors.register_codes in the app's errors.py)")


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


class NotPending(DomainError):
    code = "not_pending"
    default_detail = "This request has already been decided."


class AlreadyPending(DomainError):
    code = "already_pending"
    default_detail = "A pending request already exists."


class NotEligible(DomainError):
    code = "not_eligible"
    default_detail = "This user cannot take part in this action."


class InvalidState(Conflict):
    """A document is not in a state that allows the action; raise it with `status=` (the current state)."""

    code = "invalid_state"
    default_detail = "This action is not allowed in the current state."
