"""Row locks of user rows, taken first in every lock order: users by pk, then warehouses by pk
(`warehouses.staffing`), then documents, then stock rows.

User rows are locked with a plain `select_for_update()` on `User` alone, never joined to the role or
warehouse: with a join (even `of=("self",)`), PostgreSQL re-checks the joined rows of a row that a
concurrent transaction changed and may drop it from the result, so the service found no user (a
500). The role and warehouse are read after the lock, from the committed row.
"""

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
