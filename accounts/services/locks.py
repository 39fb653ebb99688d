"""Row locks for account services, always in one order: users by pk, then warehouses by pk.

User rows are locked with a plain `select_for_update()` on `User` alone, never joined to the role or
warehouse: with a join (even `of=("self",)`), PostgreSQL re-checks the joined rows of a row that a
concurrent transaction changed and may drop it from the result, so the service found no user (a
500). The role and warehouse are read after the lock, from the committed row.
"""

from django.db.models import Model, Q, QuerySet

from core.errors import NotFound

from ..models import User


def lock_user(pk: int) -> User:
    """Lock one user row (not its role or warehouse), then load both; NotFound (404) if it is gone."""
    user = User.objects.select_for_update().filter(pk=pk).first()
    if user is None:
        raise NotFound("This user no longer exists.")
    _load_relations(user)
    return user


def lock_users(*pks: int) -> dict[int, User]:
    """Lock several user rows in pk order; returns them by pk. NotFound (404) if one is gone."""
    wanted = set(pks)
    rows = {user.pk: user for user in User.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
    if set(rows) != wanted:
        raise NotFound("This user no longer exists.")
    for user in rows.values():
        _load_relations(user)
    return rows


def _load_relations(user: User) -> None:
    """Read the role and warehouse of a locked user (after the lock, so they are the committed ones)."""
    user.role  # noqa: B018 - loads and caches the related row
    user.warehouse  # noqa: B018


def _warehouses():
    """The Warehouse model, reached through `User.warehouse` (accounts does not import the warehouses app)."""
    return User._meta.get_field("warehouse").related_model


def lock_warehouse(pk: int) -> Model:
    """Lock one warehouse row (after any user rows); NotFound (404) when a concurrent request deleted it."""
    warehouse = _warehouses().objects.select_for_update().filter(pk=pk).first()
    if warehouse is None:
        raise NotFound("This warehouse no longer exists.")
    return warehouse


def lock_warehouses_of(user: User, *, also: int) -> list[Model]:
    """Lock the warehouses `user` manages and warehouse `also`, together in pk order (after the user rows).

    NotFound (404) when warehouse `also` was deleted meanwhile.
    """
    rows = list(_warehouses().objects.select_for_update().filter(Q(manager_id=user.pk) | Q(pk=also)).order_by("pk"))
    if not any(row.pk == also for row in rows):
        raise NotFound("This warehouse no longer exists.")
    return rows


def lock_managed_warehouses(user: User) -> QuerySet:
    """Lock the warehouses `user` manages, in pk order (taken after the user rows)."""
    return user.managed_warehouses.select_for_update().order_by("pk")
