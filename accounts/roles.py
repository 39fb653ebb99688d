"""Who a user is: the four roles, the lifecycle statuses and the role predicates every app's policies build on.

A leaf module (it imports no model): `accounts.models` takes its choices from here, and every app's
`policies.py` asks these predicates. Roles and status are read from the database row loaded for
this request (never from token claims); role names appear only as `RoleName` (`Role.Name`) members.
"""

from django.db import models


class RoleName(models.TextChoices):
    """The four fixed roles (`Role.Name`)."""

    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"
    VIEWER = "viewer", "Viewer"


class UserStatus(models.TextChoices):
    """A user's lifecycle status (`User.Status`)."""

    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"
    DISMISSED = "dismissed", "Dismissed"


ROLE_DESCRIPTIONS = {
    RoleName.ADMIN: "Everything: warehouses, products, transfers, promotions, demotions.",
    RoleName.MANAGER: "Manages their warehouses: staff, stock, thresholds, purchase approvals, transfer requests.",
    RoleName.STAFF: "Works in one warehouse: purchase decisions, stock adjustments, ledger and reports.",
    RoleName.VIEWER: "Reads the catalogue and stock levels; creates and cancels own purchase requests.",
}


def ensure_roles(role_model) -> int:
    """Create missing roles (idempotent); returns how many were created. Used by a data migration and `seed_roles`."""
    created = 0
    for name, description in ROLE_DESCRIPTIONS.items():
        _, was_created = role_model.objects.get_or_create(name=name, defaults={"description": description})
        created += int(was_created)
    return created


def is_active(user) -> bool:
    """An authenticated user whose lifecycle status is active."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.status == UserStatus.ACTIVE)


def has_role(user, *roles: RoleName) -> bool:
    """An active user holding one of `roles`."""
    return is_active(user) and user.role.name in roles


def is_admin(user) -> bool:
    return has_role(user, RoleName.ADMIN)


def is_manager(user) -> bool:
    return has_role(user, RoleName.MANAGER)


def is_staff_member(user) -> bool:
    return has_role(user, RoleName.STAFF)


def is_viewer(user) -> bool:
    return has_role(user, RoleName.VIEWER)


def holds_role(user, *roles: RoleName) -> bool:
    """The role on a user's row, whatever their status: for the *target* of an action (often pending)."""
    return user is not None and user.role.name in roles
