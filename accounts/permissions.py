"""Small, composable permission classes. Roles are read from the database on each request."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role, User


def role_of(user) -> str | None:
    if not user or not getattr(user, "is_authenticated", False):
        return None
    return user.role.name


class IsActiveUser(BasePermission):
    """An authenticated user whose status is active."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.status == User.Status.ACTIVE)


class IsAdmin(BasePermission):
    """Role admin."""

    def has_permission(self, request, view):
        return role_of(request.user) == Role.Name.ADMIN


class IsManager(BasePermission):
    """Role manager."""

    def has_permission(self, request, view):
        return role_of(request.user) == Role.Name.MANAGER


class IsStaff(BasePermission):
    """Role staff."""

    def has_permission(self, request, view):
        return role_of(request.user) == Role.Name.STAFF


class IsViewer(BasePermission):
    """Role viewer."""

    def has_permission(self, request, view):
        return role_of(request.user) == Role.Name.VIEWER


class ReadOnly(BasePermission):
    """Safe methods only."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS
