"""Workflows' error codes and domain errors (requests and counts)."""

from core.errors import Code, DomainError, register_codes

CODES = register_codes({
    "invalid_decision": Code(400, "the decision is neither approve nor reject"),
    "duplicate_rule": Code(409, "this warehouse already has a reorder rule for this product"),
    "rule_cycle": Code(409, "the reorder rules of this product would supply each other in a circle"),
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


class DuplicateRule(DomainError):
    """A warehouse has at most one reorder rule per product (SPEC §15)."""

    code = "duplicate_rule"
    default_detail = "This warehouse already has a reorder rule for this product."


class RuleCycle(DomainError):
    """The product's rules would form a cycle: A supplied from B and B from A (or longer)."""

    code = "rule_cycle"
    default_detail = "The reorder rules of this product would supply each other in a circle."


class InvalidRule(DomainError):
    """A reorder rule's own bounds refuse it (the API's serializer refuses them earlier, as a field map)."""

    code = "invalid"
