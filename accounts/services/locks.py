"""Row locks for account services, always in one order: users by pk, then warehouses by pk."""

from django.db.models import QuerySet

from ..models import User


def lock_user(pk: int) -> User:
    """Lock one user row (not its role or warehouse) and load both for the checks that follow."""
    return User.objects.select_for_update(of=("self",)).select_related("role", "warehouse").get(pk=pk)


def lock_users(*pks: int) -> dict[int, User]:
    """Lock several user rows in pk order; returns them by pk."""
    rows = (User.objects.select_for_update(of=("self",)).select_related("role", "warehouse")
            .filter(pk__in=set(pks)).order_by("pk"))
    return {user.pk: user for user in rows}


def lock_managed_warehouses(user: User) -> QuerySet:
    """Lock the warehouses `user` manages, in pk order (taken after the user rows)."""
    return user.managed_warehouses.select_for_update().order_by("pk")
