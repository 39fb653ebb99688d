"""Writes on warehouses: create, update, delete (admin only: the view asks and each service asks again)."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from accounts.audit import record_event
from accounts.roles import is_manager
from accounts.services.locks import lock_user
from core.errors import NotEligible, NotFound, PermissionDenied

from . import policies
from .errors import DuplicateWarehouseCode, WarehouseInUse
from .models import Warehouse

FIELDS = ("code", "name", "address", "manager", "is_active", "count_tolerance")


def _snapshot(warehouse: Warehouse) -> dict:
    return {"code": warehouse.code, "name": warehouse.name, "manager": warehouse.manager_id,
            "is_active": warehouse.is_active, "count_tolerance": warehouse.count_tolerance}


def _require_editor(actor) -> None:
    if not policies.can_edit_warehouses(actor):
        raise PermissionDenied("Only an admin may create, change or delete warehouses.")


def _lock_manager(manager):
    """Lock the would-be manager's user row and check, under the lock, that they are an active manager.

    Taken before any warehouse row (the lock order of dismiss and demote: users, then warehouses), so
    a concurrent dismissal or demotion either finishes first (and this refuses) or waits for this
    transaction (and then releases the warehouse itself). Raises NotEligible (400).
    """
    if manager is None:
        return None
    try:
        locked = lock_user(manager.pk)
    except NotFound:
        locked = None
    if locked is None or not is_manager(locked):
        raise NotEligible("The manager must be an active user with the manager role.")
    return locked


def _lock_warehouse(pk: int) -> Warehouse:
    """Lock a warehouse row; NotFound (404) when a concurrent request deleted it."""
    warehouse = Warehouse.objects.select_for_update().filter(pk=pk).first()
    if warehouse is None:
        raise NotFound("This warehouse no longer exists.")
    return warehouse


def _save(warehouse: Warehouse, **kwargs) -> None:
    try:
        with transaction.atomic():
            warehouse.save(**kwargs)
    except IntegrityError as exc:  # a concurrent create won the unique code
        raise DuplicateWarehouseCode() from exc


@transaction.atomic
def create_warehouse(*, actor, code: str, name: str, address: str = "", manager=None, is_active: bool = True,
                     count_tolerance: int = 0, ip: str | None = None) -> Warehouse:
    """Create a warehouse. Locks the manager's user row, if any (the unique index decides code races).

    Raises PermissionDenied unless the actor is an admin, DuplicateWarehouseCode if the code is taken,
    NotEligible if `manager` is not (any more) an active manager.
    """
    _require_editor(actor)
    manager = _lock_manager(manager)
    warehouse = Warehouse(code=code, name=name, address=address, manager=manager, is_active=is_active,
                          count_tolerance=count_tolerance)
    _save(warehouse)
    record_event(actor=actor, action="warehouse.create", target=warehouse, ip=ip, data=_snapshot(warehouse))
    return warehouse


@transaction.atomic
def update_warehouse(*, actor, warehouse: Warehouse, ip: str | None = None, **changes) -> Warehouse:
    """Change some of code, name, address, manager, is_active.

    Locks: the new manager's user row (when `manager` changes), then the warehouse row. Raises
    PermissionDenied unless the actor is an admin, NotFound (404) if the warehouse was deleted
    meanwhile, NotEligible (400) if the new manager is not (any more) an active manager,
    DuplicateWarehouseCode if the new code is taken.
    """
    _require_editor(actor)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown warehouse fields: {sorted(unknown)}")
    if "manager" in changes:
        changes["manager"] = _lock_manager(changes["manager"])
    warehouse = _lock_warehouse(warehouse.pk)
    before = _snapshot(warehouse)
    for field, value in changes.items():
        setattr(warehouse, field, value)
    _save(warehouse)
    after = _snapshot(warehouse)
    record_event(actor=actor, action="warehouse.update", target=warehouse, ip=ip,
                 data={"before": before, "after": after, "fields": sorted(changes)})
    return warehouse


def warehouse_in_use(warehouse: Warehouse) -> bool:
    """True when anything refers to the warehouse (stock, ledger, requests, staff, thresholds, alerts...).

    Walks every reverse relation, so a new model that points at warehouses is covered without a change here.
    """
    for relation in warehouse._meta.related_objects:
        model = relation.related_model
        if model._base_manager.filter(**{relation.field.name: warehouse.pk}).exists():
            return True
    return False


@transaction.atomic
def delete_warehouse(*, actor, warehouse: Warehouse, ip: str | None = None) -> None:
    """Delete an unused warehouse.

    Locks: the warehouse row. Raises PermissionDenied unless the actor is an admin, NotFound (404) if
    it was deleted meanwhile, WarehouseInUse (409) if anything refers to it, also when a reference
    appears concurrently (the database's protected foreign keys refuse the delete).
    """
    _require_editor(actor)
    warehouse = _lock_warehouse(warehouse.pk)
    if warehouse_in_use(warehouse):
        raise WarehouseInUse()
    snapshot = {"id": warehouse.pk, **_snapshot(warehouse)}
    try:
        with transaction.atomic():
            warehouse.delete()
    except (ProtectedError, RestrictedError, IntegrityError) as exc:
        raise WarehouseInUse() from exc
    record_event(actor=actor, action="warehouse.delete", target=f"warehouse:{snapshot['id']}", ip=ip, data=snapshot)
