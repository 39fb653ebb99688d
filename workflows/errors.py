"""Workflows' error codes and domain errors (requests and counts)."""

from core.errors import Code, DomainError, register_codes

CODES = register_codes({
    "invalid_decision": Code(400, "the decision is neither approve nor reject"),
})


class InvalidDecision(DomainError):
    """The decision is neither `approve` nor `reject` (the API's serializer refuses it earlier)."""

    code = "invalid_decision"
    default_detail = "The decision must be 'approve' or 'reject'."


class InvalidTransfer(DomainError):
    """A transfer's own rule refuses it (lines, mode, receipts, a close without a reason)."""

    code = "invalid"


class InvalidCount(DomainError):
    """A count's own rule refuses it (nothing or too much to count, lines of another count, lines not counted)."""

    code = "invalid"
