"""Domain errors: raised by services, turned into `{"detail", "code", ...}` by the handler."""

from rest_framework import status


class DomainError(Exception):
    """A business rule refused the operation; carries a stable code and an HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = "The request could not be completed."

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra):
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.extra = extra
        super().__init__(self.detail)

    def as_dict(self) -> dict:
        return {"detail": self.detail, "code": self.code, **self.extra}


class PermissionDenied(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_detail = "Not enough stock on hand."

    def __init__(self, *, available: int, requested: int, detail: str | None = None):
        super().__init__(
            detail or f"Not enough stock: {available} available, {requested} requested.",
            available=available,
            requested=requested,
        )


class NotPending(Conflict):
    code = "not_pending"
    default_detail = "This request has already been decided."


class AlreadyPending(Conflict):
    code = "already_pending"
    default_detail = "A pending request already exists."
