"""Reorder rules (SPEC §15): create, change, delete and evaluate on demand, each evaluated at once.

Validation (same warehouse, an inactive source, bounds, one rule per warehouse and product, no cycle between
warehouses for one product), scope (404) and policy (403), then the evaluation of `replenishment` under the
rule's stock row lock and its rule row lock. Creating or re-sourcing a rule first locks the product row
(`FOR NO KEY UPDATE`), so two concurrent changes of one product's rules cannot close a cycle between them.
"""

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import NotFound, PermissionDenied
from inventory import locks
from inventory.errors import InactiveObject, SameWarehouse
from inventory.models import Product
from warehouses.models import Warehouse

from .. import policies
from ..errors import DuplicateRule, InvalidRule, RuleCycle
from ..models import ReorderRule
from .replenishment import evaluate_locked, lock_rule

RULE_FIELDS = ("source_warehouse", "min_quantity", "max_quantity", "multiple", "is_active")


def _rule_in_scope(actor, rule_id: int) -> ReorderRule:
    """The rule as the actor may see it (NotFound otherwise), with its warehouse; PermissionDenied unless the
    actor may edit it."""
    rule = ReorderRule.objects.for_user(actor).select_related("warehouse").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No reorder rule with id {rule_id}.")
    if not policies.can_edit_rule(actor, rule):
        raise PermissionDenied("Only an admin or this warehouse's manager may change its reorder rules.")
    return rule


def _check_values(*, warehouse: Warehouse, source: Warehouse, min_quantity: int, max_quantity: int,
                  multiple: int, new_source: bool) -> None:
    if source.pk == warehouse.pk:
        raise SameWarehouse("The source warehouse must differ from the rule's warehouse.")
    if new_source and not source.is_active:  # a source deactivated later is the outcome `source_inactive`
        raise InactiveObject(f"Warehouse {source.code} is inactive.")
    if min_quantity < 0 or max_quantity <= min_quantity or multiple < 1:
        raise InvalidRule("A rule needs min_quantity ≥ 0, max_quantity > min_quantity and multiple ≥ 1.")


def _check_no_cycle(*, product_id: int, warehouse_id: int, source_id: int, rule_id: int | None = None) -> None:
    """Follow the sources of the product's rules from `source_id`: reaching `warehouse_id` is a cycle.

    The caller holds the product row lock, so no concurrent change of the product's rules slips in. Every
    rule counts, active or not (reactivating one must not close a circle).
    """
    sources = dict(ReorderRule.objects.filter(product_id=product_id).exclude(pk=rule_id)
                   .values_list("warehouse_id", "source_warehouse_id"))
    seen: set[int] = set()
    current = source_id
    while current is not None and current not in seen:
        if current == warehouse_id:
            raise RuleCycle(f"Warehouse {warehouse_id} would supply itself through the rules of this product.")
        seen.add(current)
        current = sources.get(current)


def _lock_product(product_id: int) -> None:
    """Serialize changes to one product's rules (the cycle check); see the module docstring."""
    Product.objects.select_for_update(no_key=True).filter(pk=product_id).values_list("pk").first()


def _audit_data(rule: ReorderRule) -> dict:
    return {"warehouse": rule.warehouse_id, "product": rule.product_id, "source_warehouse": rule.source_warehouse_id,
            "min_quantity": rule.min_quantity, "max_quantity": rule.max_quantity, "multiple": rule.multiple,
            "is_active": rule.is_active}


@transaction.atomic
def create_rule(*, actor, warehouse: Warehouse, product: Product, source_warehouse: Warehouse, min_quantity: int,
                max_quantity: int, multiple: int = 1, is_active: bool = True, ip: str | None = None) -> ReorderRule:
    """Create a reorder rule and evaluate it at once (SPEC §15).

    Locks: the product row (`FOR NO KEY UPDATE`), the rule's stock row (created at 0 if missing), then the
    new rule row. Raises PermissionDenied unless the actor is an admin or the warehouse's manager;
    SameWarehouse (400 `same_warehouse`); InactiveObject (an inactive source); InvalidRule (bounds);
    DuplicateRule (409); RuleCycle (409); an error of the evaluation's transfer creation.
    """
    if not policies.can_edit_rule_of(actor, warehouse):
        raise PermissionDenied("Only an admin or this warehouse's manager may create its reorder rules.")
    _check_values(warehouse=warehouse, source=source_warehouse, min_quantity=min_quantity,
                  max_quantity=max_quantity, multiple=multiple, new_source=True)
    _lock_product(product.pk)
    if ReorderRule.objects.filter(warehouse=warehouse, product=product).exists():
        raise DuplicateRule()
    _check_no_cycle(product_id=product.pk, warehouse_id=warehouse.pk, source_id=source_warehouse.pk)
    locks.lock_stock_row(product.pk, warehouse.pk, create=True)
    try:
        with transaction.atomic():
            created = ReorderRule.objects.create(
                warehouse=warehouse, product=product, source_warehouse=source_warehouse, min_quantity=min_quantity,
                max_quantity=max_quantity, multiple=multiple, is_active=is_active, created_by=actor)
    except IntegrityError as exc:  # the product lock makes this unreachable; the constraint still answers
        raise DuplicateRule() from exc
    rule, row = lock_rule(created.pk, warehouse_id=warehouse.pk, product_id=product.pk)
    evaluate_locked(rule, row, automatic=False, swallow=False)
    record_event(actor=actor, action="reorder_rule.create", target=rule, ip=ip, data=_audit_data(rule))
    return rule


@transaction.atomic
def update_rule(*, actor, rule_id: int, changes: dict, ip: str | None = None) -> ReorderRule:
    """Change a rule's `source_warehouse`, bounds, `multiple` or `is_active`; the change lifts a hold and the
    rule is evaluated at once (an inactive rule records `inactive`).

    Locks: the product row (when the source changes: the cycle check), the rule's stock row, the rule row.
    Raises NotFound (unknown, out of scope, deleted meanwhile), PermissionDenied, and what `create_rule`
    raises for the new values (not DuplicateRule: warehouse and product never change).
    """
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise InvalidRule(f"These fields cannot be changed: {sorted(unknown)}.")
    seen = _rule_in_scope(actor, rule_id)
    if "source_warehouse" in changes:
        _lock_product(seen.product_id)
    rule, row = lock_rule(rule_id, warehouse_id=seen.warehouse_id, product_id=seen.product_id)
    before = _audit_data(rule)
    for field, value in changes.items():
        setattr(rule, field, value)
    _check_values(warehouse=rule.warehouse, source=rule.source_warehouse, min_quantity=rule.min_quantity,
                  max_quantity=rule.max_quantity, multiple=rule.multiple,
                  new_source="source_warehouse" in changes)
    if "source_warehouse" in changes:
        _check_no_cycle(product_id=rule.product_id, warehouse_id=rule.warehouse_id,
                        source_id=rule.source_warehouse.pk, rule_id=rule.pk)
    rule.held = False
    rule.save(update_fields=[*changes, "held", "updated_at"])
    evaluate_locked(rule, row, automatic=False, swallow=False)
    record_event(actor=actor, action="reorder_rule.update", target=rule, ip=ip,
                 data={"before": before, "after": _audit_data(rule)})
    return rule


@transaction.atomic
def delete_rule(*, actor, rule_id: int, ip: str | None = None) -> None:
    """Delete a rule. Its transfers stay (their `reorder_rule` becomes null; an open one stays a transfer like
    any other, which the destination's manager may still cancel while pending).

    Locks: the rule's stock row, then the rule row. Raises NotFound, PermissionDenied.
    """
    seen = _rule_in_scope(actor, rule_id)
    rule, _ = lock_rule(rule_id, warehouse_id=seen.warehouse_id, product_id=seen.product_id)
    data = {"id": rule.pk, **_audit_data(rule)}
    rule.delete()
    record_event(actor=actor, action="reorder_rule.delete", target=f"reorderrule:{data['id']}", ip=ip, data=data)


@transaction.atomic
def evaluate_rule(*, actor, rule_id: int, ip: str | None = None) -> ReorderRule:
    """Evaluate a rule now, on demand: lifts its hold (SPEC §15), may create its transfer.

    Locks: the rule's stock row (created at 0 if missing), then the rule row. Raises NotFound,
    PermissionDenied unless the actor is an admin or the warehouse's manager, and an error of the transfer
    creation.
    """
    seen = _rule_in_scope(actor, rule_id)
    rule, row = lock_rule(rule_id, warehouse_id=seen.warehouse_id, product_id=seen.product_id)
    rule.held = False
    evaluation = evaluate_locked(rule, row, automatic=False, swallow=False)
    record_event(actor=actor, action="reorder_rule.evaluate", target=rule, ip=ip,
                 data={"outcome": evaluation.outcome, "transfer_request": evaluation.transfer_request})
    return rule
