"""DRF permission classes built on policies: small, composable with `&` and `|`.

`policy_permission` turns a policy (a predicate on the user, and optionally one on the object) into a
permission class, so a view declares the same question its service asks again under the lock.
"""

from collections.abc import Callable

from rest_framework.permissions import SAFE_METHODS, BasePermission

from . import policies, roles


def policy_permission(name: str, *, user: Callable | None = None, obj: Callable | None = None,
                      doc: str = "") -> type[BasePermission]:
    """A permission class asking `user(request.user)` and, for one object, `obj(request.user, object)`."""

    def has_permission(self, request, view):
        return user is None or bool(user(request.user))

    def has_object_permission(self, request, view, instance):
        return obj is None or bool(obj(request.user, instance))

    return type(name, (BasePermission,), {
        "__doc__": doc or name,
        "__module__": __name__,
        "has_permission": has_permission,
        "has_object_permission": has_object_permission,
    })


IsActiveUser = policy_permission("IsActiveUser", user=roles.is_active, doc="An authenticated, active user.")
IsAdmin = policy_permission("IsAdmin", user=roles.is_admin, doc="Role admin.")
IsManager = policy_permission("IsManager", user=roles.is_manager, doc="Role manager.")
IsStaff = policy_permission("IsStaff", user=roles.is_staff_member, doc="Role staff.")
IsViewer = policy_permission("IsViewer", user=roles.is_viewer, doc="Role viewer.")


class ReadOnly(BasePermission):
    """Safe methods only."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS


# --- accounts' own questions (accounts.policies), asked again by the services under their locks ---------

CanChangeOwnPassword = policy_permission(
    "CanChangeOwnPassword", user=policies.can_change_own_password, doc="Change one's own password (any active user).")
CanManageUsers = policy_permission(
    "CanManageUsers", user=policies.can_manage_users, doc="Admins and managers: users, registrations, staff.")


class CanDecideRegistration(BasePermission):
    """Decide this registration (admin; manager of its warehouse, or any manager for a viewer)."""

    def has_permission(self, request, view):
        return policies.can_manage_users(request.user)

    def has_object_permission(self, request, view, target):
        self.message = "You may not decide this registration."
        return policies.can_decide_registration(request.user, target)


class CanDismiss(BasePermission):
    """Dismiss this user (admin: anyone but an admin; manager: staff of their warehouses; never oneself)."""

    def has_permission(self, request, view):
        return policies.can_manage_users(request.user)

    def has_object_permission(self, request, view, target):
        self.message = policies.dismissal_refusal(request.user, target)
        return policies.can_dismiss(request.user, target)


CanDemote = policy_permission("CanDemote", user=policies.can_demote, doc="Demote a manager (admin).")
CanRequestPromotions = policy_permission(
    "CanRequestPromotions", user=policies.can_request_promotions, obj=policies.can_request_promotion,
    doc="Request a staff promotion (admin: any staff; manager: staff of their warehouses).")
CanDecidePromotions = policy_permission(
    "CanDecidePromotions", user=policies.can_decide_promotions, doc="Decide promotion requests (admin).")
CanReadAuditTrail = policy_permission(
    "CanReadAuditTrail", user=policies.can_read_audit_trail, doc="Read the audit trail (admin).")
