"""DRF permission classes built on policies: small, composable with `&` and `|`.

`policy_permission` turns a policy (a predicate on the user, and optionally one on the object) into a
permission class, so a view declares the same question its service asks again under the lock.
"""

from collections.abc import Callable

from rest_framework.permissions import SAFE_METHODS, BasePermission

from . import policies


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


IsActiveUser = policy_permission("IsActiveUser", user=policies.is_active, doc="An authenticated, active user.")
IsAdmin = policy_permission("IsAdmin", user=policies.is_admin, doc="Role admin.")
IsManager = policy_permission("IsManager", user=policies.is_manager, doc="Role manager.")
IsStaff = policy_permission("IsStaff", user=policies.is_staff_member, doc="Role staff.")
IsViewer = policy_permission("IsViewer", user=policies.is_viewer, doc="Role viewer.")


class ReadOnly(BasePermission):
    """Safe methods only."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS
