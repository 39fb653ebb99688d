"""Which endpoint may hear about which warehouse (SPEC §16): its own warehouse filter and its owner's §2 scope.

An event about warehouse W goes to an active endpoint subscribed to its type whose `warehouses` include W
(or are empty) and whose owner may see W's documents: an active admin every warehouse, an active manager
the warehouses they manage (`Warehouse.objects.managed_by`), anyone else none. Asked when the worker fans
an event out and again before every attempt.
"""

from accounts.roles import is_admin, is_manager
from warehouses.models import Warehouse

EVERY_WAREHOUSE = None  # an owner scope or an endpoint filter that holds every warehouse


def owner_scope(owner) -> set[int] | None:
    """The warehouses whose documents the owner may see: None for an admin (all), a set otherwise."""
    if is_admin(owner):
        return EVERY_WAREHOUSE
    if is_manager(owner):
        return set(Warehouse.objects.managed_by(owner).values_list("pk", flat=True))
    return set()


def owner_scopes(owners) -> dict[int, set[int] | None]:
    """`owner_scope` of many owners (their role loaded along), in one query for the managers' warehouses."""
    scopes: dict[int, set[int] | None] = {}
    managers = []
    for owner in owners:
        if is_admin(owner):
            scopes[owner.pk] = EVERY_WAREHOUSE
        elif is_manager(owner):
            scopes[owner.pk] = set()
            managers.append(owner.pk)
        else:
            scopes[owner.pk] = set()
    for warehouse_id, manager_id in Warehouse.objects.filter(manager_id__in=managers).values_list("pk", "manager_id"):
        scopes[manager_id].add(warehouse_id)
    return scopes


def reaches(*, event_type: str, event_warehouses: list[int], subscribed: list[str], filter_ids: set[int],
            scope: set[int] | None) -> bool:
    """May an endpoint (its `events`, its warehouse filter, its owner's scope) hear this event?"""
    if not ("*" in subscribed or event_type in subscribed):
        return False
    for warehouse_id in event_warehouses:
        if (not filter_ids or warehouse_id in filter_ids) and (scope is EVERY_WAREHOUSE or warehouse_id in scope):
            return True
    return False
