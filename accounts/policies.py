"""Who a user is: the role predicates every app's policies build on.

Roles and status are read from the database row loaded for this request (never from token claims).
Role names appear only as `Role.Name` members. Each domain app answers "may this user do this to
this object?" in its own `policies.py`, built from these predicates; the DRF permission classes,
the Django admin actions and the services all ask those same functions.
"""

from .models import Role, User
from .roles import holds_role, is_active, is_admin, is_manager


def _manages_warehouse_of(actor, target) -> bool:
    """The actor manages the warehouse the target (staff) belongs to."""
    return target.warehouse_id is not None and target.warehouse.manager_id == actor.pk


# --- the staff lifecycle -------------------------------------------------------------------------


def can_change_own_password(user) -> bool:
    """Change one's own password: every active user (a reset link is for active users only, too)."""
    return is_active(user)


def can_manage_users(user) -> bool:
    """May list users and act on registrations and staff at all: admins and managers."""
    return is_admin(user) or is_manager(user)


def can_decide_registration(actor, target) -> bool:
    """Admin any; a manager a viewer's registration or a staff registration for a warehouse they manage."""
    if is_admin(actor):
        return True
    if not is_manager(actor):
        return False
    if holds_role(target, Role.Name.VIEWER):
        return True
    return holds_role(target, Role.Name.STAFF) and _manages_warehouse_of(actor, target)


def can_dismiss(actor, target) -> bool:
    """Admin anyone but an admin; a manager the staff of their warehouses; nobody themselves."""
    if target is None or holds_role(target, Role.Name.ADMIN) or target.pk == actor.pk:
        return False
    if is_admin(actor):
        return True
    return is_manager(actor) and holds_role(target, Role.Name.STAFF) and _manages_warehouse_of(actor, target)


def dismissal_refusal(actor, target) -> str:
    """Why `can_dismiss` says no, in words for the caller."""
    if holds_role(target, Role.Name.ADMIN):
        return "Admins cannot be dismissed."
    if target.pk == actor.pk:
        return "You cannot dismiss yourself."
    return "You may not dismiss this user."


def can_demote(actor) -> bool:
    """Only an admin turns a manager back into staff."""
    return is_admin(actor)


# --- promotions ----------------------------------------------------------------------------------


def can_request_promotions(actor) -> bool:
    """May ask for promotions at all: admins and managers."""
    return is_admin(actor) or is_manager(actor)


def can_request_promotion(actor, target) -> bool:
    """Admin for any staff member; a manager for the staff of their warehouses."""
    if is_admin(actor):
        return True
    return is_manager(actor) and _manages_warehouse_of(actor, target)


def is_promotable(target) -> bool:
    """Only an active staff member can become a manager."""
    return target.status == User.Status.ACTIVE and holds_role(target, Role.Name.STAFF)


def can_decide_promotions(actor) -> bool:
    """Only an admin approves or rejects promotion requests."""
    return is_admin(actor)


# --- reading -------------------------------------------------------------------------------------


def can_read_audit_trail(user) -> bool:
    """The audit trail is for admins."""
    return is_admin(user)
