"""Row locks of user rows, taken first in every lock order: users by pk, then warehouses by pk
(`warehouses.staffing`), then documents, then stock rows.

User rows are locked with a plain `select_for_update()` on `User` alone, never joined to the role or
warehouse: with a join (even `of=("self",)`), PostgreSQL re-checks the joined rows of a row that a
concurrent transaction changed and may drop it from the result, so the service found no user (a
500). The role and warehouse are read after the lock, from the committed row.
"""

from django.db import connection

from core.errors import NotFound, PermissionDenied

from ..models import Role, User


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


def share_lock_actor(actor: User) -> None:
    """Lock the actor's row FOR SHARE and re-read their state, at the start of a service's transaction.

    A dismissal, demotion or promotion locks the row FOR UPDATE, so the two serialize: work that started
    first finishes under the rights it started with (the dismissal waits for it), and work that starts
    during or after a dismissal waits for it and then sees it. Many services of one actor share the lock
    without waiting on each other. Users come first in the lock order, so this is the transaction's first
    lock. Updates `actor`'s status, role and warehouse in place (the role is re-read only if it changed).
    Raises PermissionDenied (403) when the actor is no longer active. On SQLite (one writer at a time) it
    is a plain read.
    """
    sql = f'SELECT "status", "role_id", "warehouse_id" FROM "{User._meta.db_table}" WHERE "id" = %s'
    if connection.vendor == "postgresql":
        sql += " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [actor.pk])
        row = cursor.fetchone()
    if row is None or row[0] != User.Status.ACTIVE:
        raise PermissionDenied("Your account is no longer active.")
    status, role_id, warehouse_id = row
    if role_id != actor.role_id:
        actor.role_id = role_id
        actor.role = Role.objects.get(pk=role_id)
    if warehouse_id != actor.warehouse_id:
        actor.warehouse_id = warehouse_id
        if User.warehouse.field.is_cached(actor):
            User.warehouse.field.delete_cached_value(actor)
    actor.status = status
