"""Deciding registrations. (Dismissals, demotions and the admin's user changes write warehouse rows, so
they live above accounts, in `warehouses.staffing`.)"""

from django.db import transaction

from core.decisions import Decision
from core.errors import NotPending, PermissionDenied
from core.events import emit

from .. import policies
from ..audit import record_event
from ..events import AccessChanged
from ..models import User
from .locks import lock_user


@transaction.atomic
def decide_registration(*, actor: User, user: User, decision: str, reason: str = "", ip: str | None = None) -> User:
    """Approve (→ active) or reject (→ rejected) a pending registration.

    Locks the user row. Raises PermissionDenied (403) unless `policies.can_decide_registration`
    (admin; the manager of the requested warehouse for staff; any manager for viewers); NotPending
    (409) when already decided.
    """
    target = lock_user(user.pk)
    if not policies.can_decide_registration(actor, target):
        raise PermissionDenied("You may not decide this registration.")
    if target.status != User.Status.PENDING:
        raise NotPending("This registration has already been decided.")
    target.status = User.Status.ACTIVE if decision == Decision.APPROVE else User.Status.REJECTED
    target.save(update_fields=["status"])
    record_event(actor=actor, action=f"user.{decision}", target=target,
                 data={"reason": reason, "role": target.role.name, "warehouse": target.warehouse_id}, ip=ip)
    emit(AccessChanged(user=target))  # approved: now active; rejected: a status change all the same
    return target
