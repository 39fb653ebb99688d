"""The staff lifecycle: deciding registrations, dismissals, demotions, and admin-made changes.

Warehouses are reached through the user's relations (`user.warehouse`, `user.managed_warehouses`),
so accounts never imports the warehouses app.
"""

from django.db import models, transaction
from django.utils import timezone

from core.decisions import Decision
from core.errors import NotEligible, NotPending, PermissionDenied

from .. import policies
from ..audit import record_event
from ..errors import NotActive
from ..models import Role, User
from .auth import blacklist_all_tokens
from .locks import lock_managed_warehouses, lock_user, lock_users, lock_warehouses_of


def _release_managed_warehouses(user: User, new_manager: User | None = None) -> list[int]:
    """Lock the warehouses `user` manages (pk order) and hand them to `new_manager` or to nobody."""
    moved = list(lock_managed_warehouses(user).values_list("pk", flat=True))
    if moved:
        user.managed_warehouses.filter(pk__in=moved).update(manager=new_manager, updated_at=timezone.now())
    return moved


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
    return target


@transaction.atomic
def dismiss_user(*, actor: User, user: User, reason: str, ip: str | None = None) -> User:
    """Dismiss an active user: status dismissed, every refresh token blacklisted, history kept.

    Locks the user row, then (for a manager) the warehouses they manage, which become unmanaged.
    Raises PermissionDenied (403) unless `policies.can_dismiss` (never an admin or oneself),
    NotActive (409) when the user is not active.
    """
    target = lock_user(user.pk)
    if not policies.can_dismiss(actor, target):
        raise PermissionDenied(policies.dismissal_refusal(actor, target))
    if target.status != User.Status.ACTIVE:
        raise NotActive("Only an active user can be dismissed.")
    unmanaged = _release_managed_warehouses(target) if policies.holds_role(target, Role.Name.MANAGER) else []
    target.status = User.Status.DISMISSED
    target.save(update_fields=["status"])
    revoked = blacklist_all_tokens(user=target)
    record_event(actor=actor, action="user.dismiss", target=target,
                 data={"reason": reason, "role": target.role.name, "unmanaged_warehouses": unmanaged,
                       "revoked_tokens": revoked}, ip=ip)
    return target


@transaction.atomic
def record_admin_user_change(*, actor: User, user: User, fields: list[str], created: bool,
                             ip: str | None = None) -> None:
    """Audit a user added or changed in the Django admin, with the API's side effects of the change.

    Call it after the user row is saved. Locks the warehouses the user manages when they are no
    longer an active manager (those become unmanaged); a dismissed user's refresh tokens are all
    blacklisted. Raises nothing of its own.
    """
    unmanaged = [] if policies.is_manager(user) else _release_managed_warehouses(user)
    revoked = blacklist_all_tokens(user=user) if user.status == User.Status.DISMISSED else 0
    record_event(actor=actor, action="user.admin_create" if created else "user.admin_change", target=user, ip=ip,
                 data={"fields": sorted(fields), "role": user.role.name, "status": user.status,
                       "warehouse": user.warehouse_id, "unmanaged_warehouses": unmanaged, "revoked_tokens": revoked})


@transaction.atomic
def demote_manager(*, actor: User, user: User, reason: str, warehouse: models.Model | None = None,
                   reassign_to: User | None = None, ip: str | None = None) -> User:
    """Turn a manager into staff of `warehouse` (a Warehouse; default: the one they last belonged to).

    Locks the manager's row and the new manager's row (pk order), then the warehouses they managed
    and the destination (together, pk order); the managed ones move to `reassign_to` or become
    unmanaged. Raises PermissionDenied (403) unless `policies.can_demote` (admin), NotFound (404) when
    the destination warehouse was deleted meanwhile, NotEligible (400; codes `not_eligible`, `invalid_reassign_to`,
    `warehouse_required`, `warehouse_inactive`) when the user is not an active manager,
    `reassign_to` is not another active manager, or no active warehouse is known.
    """
    if not policies.can_demote(actor):
        raise PermissionDenied("Only an admin may demote a manager.")
    locked = lock_users(user.pk, *([reassign_to.pk] if reassign_to else []))
    target = locked[user.pk]
    if not policies.is_manager(target):
        raise NotEligible("Only an active manager can be demoted.")
    new_manager = locked.get(reassign_to.pk) if reassign_to else None
    if reassign_to is not None and (new_manager.pk == target.pk or not policies.is_manager(new_manager)):
        raise NotEligible("reassign_to must be another active manager.", code="invalid_reassign_to")
    destination = warehouse or target.warehouse
    if destination is None:
        raise NotEligible("This manager has no previous warehouse; give one in `warehouse`.",
                          code="warehouse_required")
    locked_warehouses = lock_warehouses_of(target, also=destination.pk)
    destination = next(row for row in locked_warehouses if row.pk == destination.pk)
    if not destination.is_active:
        raise NotEligible("The warehouse must be active.", code="warehouse_inactive")
    moved = [row.pk for row in locked_warehouses if row.manager_id == target.pk]
    if moved:
        target.managed_warehouses.filter(pk__in=moved).update(manager=new_manager, updated_at=timezone.now())
    target.role = Role.get(Role.Name.STAFF)
    target.warehouse = destination
    target.save(update_fields=["role", "warehouse"])
    record_event(actor=actor, action="user.demote", target=target,
                 data={"reason": reason, "warehouse": destination.pk, "warehouses_moved": moved,
                       "reassign_to": new_manager.pk if new_manager else None}, ip=ip)
    return target
