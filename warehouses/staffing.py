"""Staffing: the account changes that write warehouse rows or need one locked.

Registering staff of a warehouse (the warehouse row is locked), dismissing a manager (the warehouses
they managed become unmanaged), demoting a manager (their warehouses move or become unmanaged, they
join a warehouse as staff), and the Django admin's user changes with the same effects. They live
here, above `accounts`, because they write both users and warehouses: `accounts` never touches a
warehouse row. Lock order: user rows (pk order, `accounts.services.locks`), then warehouse rows (pk
order), as everywhere.
"""

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import policies as account_policies
from accounts import roles
from accounts.audit import record_event
from accounts.errors import DuplicateAccount, NotActive
from accounts.events import AccessChanged
from accounts.models import Role, User, UserProfile
from accounts.services import blacklist_all_tokens
from accounts.services.locks import lock_user, lock_users
from core.errors import NotEligible, NotFound, PermissionDenied
from core.events import emit
from core.identity import identity_key

from .errors import InvalidReassignTo, WarehouseInactive, WarehouseRequired
from .models import Warehouse


def lock_warehouse(pk: int) -> Warehouse:
    """Lock one warehouse row (after any user rows); NotFound (404) when a concurrent request deleted it."""
    warehouse = Warehouse.objects.select_for_update().filter(pk=pk).first()
    if warehouse is None:
        raise NotFound("This warehouse no longer exists.")
    return warehouse


def _lock_warehouses_of(user: User, *, also: int) -> list[Warehouse]:
    """Lock the warehouses `user` manages and warehouse `also`, together in pk order (after the user rows).

    NotFound (404) when warehouse `also` was deleted meanwhile.
    """
    rows = list(Warehouse.objects.select_for_update().filter(Q(manager_id=user.pk) | Q(pk=also)).order_by("pk"))
    if not any(row.pk == also for row in rows):
        raise NotFound("This warehouse no longer exists.")
    return rows


def _lock_managed_warehouses(user: User) -> QuerySet:
    """Lock the warehouses `user` manages, in pk order (taken after the user rows)."""
    return Warehouse.objects.select_for_update().filter(manager_id=user.pk).order_by("pk")


@transaction.atomic
def register_user(*, username: str, email: str, password: str, role: str, warehouse: Warehouse | None = None,
                  ip: str | None = None) -> User:
    """Create a pending viewer or staff account (of `warehouse`) and its profile.

    Locks the staff member's warehouse row (so a concurrent delete either waits and then sees the new
    user, or wins and this answers NotFound, 404; NotEligible `warehouse_inactive` if deactivated
    meanwhile). Raises DuplicateAccount (400) when the username or e-mail is taken (compared by
    `core.identity.identity_key`: NFKC + casefold), including when a concurrent registration wins the
    race on the database's unique constraints.
    """
    if role == Role.Name.STAFF and warehouse is not None:
        warehouse = lock_warehouse(warehouse.pk)
        if not warehouse.is_active:
            raise WarehouseInactive()
    if User.objects.filter(username_key=identity_key(username)).exists():
        raise DuplicateAccount("A user with this username already exists.")
    if email and User.objects.filter(email_key=identity_key(email)).exists():
        raise DuplicateAccount("A user with this e-mail already exists.")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, email=email, password=password, role=Role.get(role),
                warehouse=warehouse if role == Role.Name.STAFF else None, status=User.Status.PENDING,
            )
    except IntegrityError as exc:
        raise DuplicateAccount() from exc
    UserProfile.objects.create(user=user)
    record_event(actor=user, action="user.register", target=user,
                 data={"role": role, "warehouse": user.warehouse_id}, ip=ip)
    emit(AccessChanged(user=user))
    return user

def _release_managed_warehouses(user: User, new_manager: User | None = None) -> list[int]:
    """Lock the warehouses `user` manages (pk order) and hand them to `new_manager` or to nobody."""
    moved = list(_lock_managed_warehouses(user).values_list("pk", flat=True))
    if moved:
        Warehouse.objects.filter(pk__in=moved).update(manager=new_manager, updated_at=timezone.now())
    return moved




@transaction.atomic
def dismiss_user(*, actor: User, user: User, reason: str, ip: str | None = None) -> User:
    """Dismiss an active user: status dismissed, every refresh token blacklisted, history kept.

    Locks the user row, then (for a manager) the warehouses they manage, which become unmanaged.
    Raises PermissionDenied (403) unless `account_policies.can_dismiss` (never an admin or oneself),
    NotActive (409) when the user is not active.
    """
    target = lock_user(user.pk)
    if not account_policies.can_dismiss(actor, target):
        raise PermissionDenied(account_policies.dismissal_refusal(actor, target))
    if target.status != User.Status.ACTIVE:
        raise NotActive("Only an active user can be dismissed.")
    unmanaged = _release_managed_warehouses(target) if roles.holds_role(target, Role.Name.MANAGER) else []
    target.status = User.Status.DISMISSED
    target.save(update_fields=["status"])
    revoked = blacklist_all_tokens(user=target)
    record_event(actor=actor, action="user.dismiss", target=target,
                 data={"reason": reason, "role": target.role.name, "unmanaged_warehouses": unmanaged,
                       "revoked_tokens": revoked}, ip=ip)
    emit(AccessChanged(user=target))
    return target

@transaction.atomic
def record_admin_user_change(*, actor: User, user: User, fields: list[str], created: bool,
                             ip: str | None = None) -> None:
    """Audit a user added or changed in the Django admin, with the API's side effects of the change.

    Call it after the user row is saved. Locks the warehouses the user manages when they are no
    longer an active manager (those become unmanaged); a dismissed user's refresh tokens are all
    blacklisted. Raises nothing of its own.
    """
    unmanaged = [] if roles.is_manager(user) else _release_managed_warehouses(user)
    revoked = blacklist_all_tokens(user=user) if user.status == User.Status.DISMISSED else 0
    record_event(actor=actor, action="user.admin_create" if created else "user.admin_change", target=user, ip=ip,
                 data={"fields": sorted(fields), "role": user.role.name, "status": user.status,
                       "warehouse": user.warehouse_id, "unmanaged_warehouses": unmanaged, "revoked_tokens": revoked})
    emit(AccessChanged(user=user))

@transaction.atomic
def demote_manager(*, actor: User, user: User, reason: str, warehouse: Warehouse | None = None,
                   reassign_to: User | None = None, ip: str | None = None) -> User:
    """Turn a manager into staff of `warehouse` (default: the one they last belonged to).

    Locks the manager's row and the new manager's row (pk order), then the warehouses they managed
    and the destination (together, pk order); the managed ones move to `reassign_to` or become
    unmanaged. Raises PermissionDenied (403) unless `account_policies.can_demote` (admin), NotFound (404) when
    the destination warehouse was deleted meanwhile, NotEligible (400; codes `not_eligible`, `invalid_reassign_to`,
    `warehouse_required`, `warehouse_inactive`) when the user is not an active manager,
    `reassign_to` is not another active manager, or no active warehouse is known.
    """
    if not account_policies.can_demote(actor):
        raise PermissionDenied("Only an admin may demote a manager.")
    locked = lock_users(user.pk, *([reassign_to.pk] if reassign_to else []))
    target = locked[user.pk]
    if not roles.is_manager(target):
        raise NotEligible("Only an active manager can be demoted.")
    new_manager = locked.get(reassign_to.pk) if reassign_to else None
    if reassign_to is not None and (new_manager.pk == target.pk or not roles.is_manager(new_manager)):
        raise InvalidReassignTo()
    destination = warehouse or target.warehouse
    if destination is None:
        raise WarehouseRequired()
    locked_warehouses = _lock_warehouses_of(target, also=destination.pk)
    destination = next(row for row in locked_warehouses if row.pk == destination.pk)
    if not destination.is_active:
        raise WarehouseInactive()
    moved = [row.pk for row in locked_warehouses if row.manager_id == target.pk]
    if moved:
        Warehouse.objects.filter(pk__in=moved).update(manager=new_manager, updated_at=timezone.now())
    target.role = Role.get(Role.Name.STAFF)
    target.warehouse = destination
    target.save(update_fields=["role", "warehouse"])
    record_event(actor=actor, action="user.demote", target=target,
                 data={"reason": reason, "warehouse": destination.pk, "warehouses_moved": moved,
                       "reassign_to": new_manager.pk if new_manager else None}, ip=ip)
    emit(AccessChanged(user=target))
    return target
