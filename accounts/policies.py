"""Who a user is: the role predicates every app's policies build on.

Roles and status are read from the database row loaded for this request (never from token claims).
Role names appear only as `Role.Name` members. Each domain app answers "may this user do this to
this object?" in its own `policies.py`, built from these predicates; the DRF permission classes,
the Django admin actions and the services all ask those same functions.
"""

from .models import Role, User


def is_active(user) -> bool:
    """An authenticated user whose lifecycle status is active."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.status == User.Status.ACTIVE)


def has_role(user, *roles: Role.Name) -> bool:
    """An active user holding one of `roles`."""
    return is_active(user) and user.role.name in roles


def is_admin(user) -> bool:
    return has_role(user, Role.Name.ADMIN)


def is_manager(user) -> bool:
    return has_role(user, Role.Name.MANAGER)


def is_staff_member(user) -> bool:
    return has_role(user, Role.Name.STAFF)


def is_viewer(user) -> bool:
    return has_role(user, Role.Name.VIEWER)
