"""What the request workflows share: decision checks and the decision record (rows are locked by
`core.documents.lock_document`).

Every decision locks the request row first (`select_for_update`) and only then calls the stock
service, which locks stock rows second; that fixed order (request, then stock in primary-key order)
is what keeps concurrent decisions free of deadlocks. A request is decided exactly once: the row
lock serializes concurrent deciders and every one after the first sees it is no longer pending.
"""

from accounts.audit import record_event
from core.decisions import Decision, RequestStatus

from ..errors import InvalidDecision


def check_decision(decision: str) -> None:
    if decision not in Decision.values:
        raise InvalidDecision()


def record_decision(request_obj, *, kind: str, actor, decision: str, reason: str, data: dict, ip: str | None):
    """Mark the locked, pending request approved or rejected and audit it (`purchase_request.approve`, …)."""
    status = RequestStatus.APPROVED if decision == Decision.APPROVE else RequestStatus.REJECTED
    request_obj.mark_decided(actor=actor, status=status, reason=reason)
    record_event(actor=actor, action=f"{kind}.{decision}", target=request_obj, ip=ip,
                 data={**data, "reason": request_obj.decision_reason})
    return request_obj


