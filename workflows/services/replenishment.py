"""Replenishment (SPEC §15): reorder rules, their evaluation, and the one open transfer each may have.

A rule keeps `warehouse` supplied with `product` from `source_warehouse`. An evaluation computes the
projected stock of the rule's stock row, `quantity − reserved − expired + incoming` plus the units of
transfer requests into the warehouse for the product that are `pending` or `approved` and not shipped,
and decides, in SPEC order: `inactive` → `already_open` → `not_needed` → `held` (automatic evaluations
only) → `source_inactive` → `created`. `created` writes one `in_transit` transfer request (pending, one
line of `⌈(max − projected) / multiple⌉ × multiple`, no requester, `reorder_rule` set) in the same
transaction, through the transfer workflow's own creation code (`transfers.new_transfer_request`).

**Locks.** Every evaluation holds the rule's stock row lock and then the rule row (lock order: … →
stock rows → reorder rule rows), so evaluations of one rule never run side by side and each one sees
the transfer the previous one created. A partial unique index (`transfer_one_open_per_rule`) makes a
second open transfer impossible in the database too; if it ever fires, the evaluation's savepoint
rolls back and it is read again (`already_open`).

**Triggers.** (a) `replenish_on_stock_change`, a subscriber of `inventory.events.StockChanged`
(registered in `WorkflowsConfig.ready`): the rules of the changed rows, found and locked in one query,
each evaluated in a savepoint whose failure is logged and never fails the stock change; (b) rule
create / change / reactivate and (c) `evaluate_rule` (on demand: clears `held`), in `reorder_rules`,
through `lock_rule` and `evaluate_locked`; (d) `evaluate_active_rules` (`manage.py replenish`) and (e) the
worker's hourly task `replenish_hourly`.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import task

from core.errors import NotFound
from core.scheduling import ensure_scheduled
from inventory import locks
from inventory.lots import expired_units
from inventory.models import Product, Stock

from ..models import (
    OPEN_REPLENISHMENT_STATUSES,
    ReorderRule,
    TransferLine,
    TransferMode,
    TransferRequest,
    TransferStatus,
)
from .transfers import new_transfer_request

logger = logging.getLogger("workflows.replenishment")

Outcome = ReorderRule.Outcome
# Inbound transfers whose units are in no bucket of the destination yet (shipping moves them to `incoming`).
NOT_SHIPPED = (TransferStatus.PENDING, TransferStatus.APPROVED)


# --- reading a rule's inputs ----------------------------------------------------------------------------

def _open_transfer():
    """The id of the rule's open transfer (pending, approved or in transit), or null."""
    return Subquery(TransferRequest.objects.filter(reorder_rule=OuterRef("pk"), status__in=OPEN_REPLENISHMENT_STATUSES)
                    .order_by().values("pk")[:1])


def _open_inbound():
    """Units of transfers into the rule's warehouse for its product, pending or approved, not shipped.

    `quantity − shipped_quantity` per line: an approved `direct` transfer has moved its units (shipped =
    quantity), so it counts 0; a pending or approved in-transit one counts in full.
    """
    units = (TransferLine.objects.filter(transfer__destination_warehouse=OuterRef("warehouse_id"),
                                         product=OuterRef("product_id"), transfer__status__in=NOT_SHIPPED)
             .order_by().values("product_id").annotate(units=Sum(F("quantity") - F("shipped_quantity")))
             .values("units"))
    return Coalesce(Subquery(units[:1]), Value(0), output_field=BigIntegerField())


def _rules_with_inputs(*, lock: bool):
    """Rules with their warehouses and product, `open_transfer_id` and `open_inbound`; locked (only the rule
    rows, `FOR NO KEY UPDATE`) if `lock`."""
    rules = ReorderRule.objects.select_related("warehouse", "product", "source_warehouse")
    if lock:
        # FOR NO KEY UPDATE: evaluations (and holds) of one rule exclude each other, but the foreign-key check
        # of a transaction inserting a transfer of the rule (FOR KEY SHARE, at its commit: Django's foreign
        # keys are deferred) never waits for an evaluation holding the rule, so the two cannot deadlock.
        rules = rules.select_for_update(of=("self",), no_key=True)
    return rules.annotate(open_transfer_id=_open_transfer(), open_inbound=_open_inbound())


def _expired(rule: ReorderRule, row: Stock | None) -> int:
    """Expired units on hand in the rule's row: one query for a lot-tracked product, none otherwise (0)."""
    if row is None or rule.product.tracking == Product.Tracking.NONE:
        return 0
    return expired_units([row.pk]).get(row.pk, 0)


# --- one evaluation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """What one evaluation found and decided (recorded as the rule's `last_evaluation`)."""

    quantity: int
    reserved: int
    expired: int
    incoming: int
    open_inbound: int
    projected: int
    proposed: int
    transfer_request: int | None
    outcome: str

    def as_record(self, evaluated_at: datetime) -> dict:
        return {"evaluated_at": _iso(evaluated_at), "quantity": self.quantity,
                "reserved": self.reserved, "expired": self.expired, "incoming": self.incoming,
                "open_inbound": self.open_inbound, "projected": self.projected, "proposed": self.proposed,
                "transfer_request": self.transfer_request, "outcome": self.outcome}


def _iso(moment: datetime) -> str:
    """ISO 8601 in the project's time zone, `Z` for UTC: how the API shows every other timestamp."""
    text = timezone.localtime(moment).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def proposed_quantity(*, projected: int, min_quantity: int, max_quantity: int, multiple: int) -> int:
    """`⌈(max − projected) / multiple⌉ × multiple` when projected < min (at least `max` after it), else 0."""
    if projected >= min_quantity:
        return 0
    return -(-(max_quantity - projected) // multiple) * multiple


def _decide(rule: ReorderRule, *, projected: int, open_transfer_id: int | None, automatic: bool) -> str:
    if not (rule.is_active and rule.warehouse.is_active and rule.product.is_active):
        return Outcome.INACTIVE
    if open_transfer_id is not None:
        return Outcome.ALREADY_OPEN
    if projected >= rule.min_quantity:
        return Outcome.NOT_NEEDED
    if automatic and rule.held:
        return Outcome.HELD
    if not rule.source_warehouse.is_active:
        return Outcome.SOURCE_INACTIVE
    return Outcome.CREATED


def _evaluate(rule: ReorderRule, row: Stock | None, *, automatic: bool) -> Evaluation:
    """Evaluate a rule whose stock row (`row`, None if it has none) and rule row the caller holds locked,
    `rule` read with `_rules_with_inputs`; create its transfer if needed; record the evaluation."""
    expired = _expired(rule, row)
    quantity, reserved, incoming = (row.quantity, row.reserved, row.incoming) if row is not None else (0, 0, 0)
    projected = quantity - reserved - expired + incoming + rule.open_inbound
    proposed = proposed_quantity(projected=projected, min_quantity=rule.min_quantity,
                                 max_quantity=rule.max_quantity, multiple=rule.multiple)
    outcome = _decide(rule, projected=projected, open_transfer_id=rule.open_transfer_id, automatic=automatic)
    transfer_id = rule.open_transfer_id if outcome == Outcome.ALREADY_OPEN else None
    if outcome == Outcome.CREATED:
        transfer = new_transfer_request(
            requested_by=None, source=rule.source_warehouse, destination=rule.warehouse, product=rule.product,
            quantity=proposed, mode=TransferMode.IN_TRANSIT, reorder_rule=rule,
            reason=(f"Reorder rule #{rule.pk}: projected stock {projected} is below {rule.min_quantity}; "
                    f"{proposed} units bring it to at least {rule.max_quantity}."))
        transfer_id = transfer.pk
    evaluation = Evaluation(quantity=quantity, reserved=reserved, expired=expired, incoming=incoming,
                            open_inbound=rule.open_inbound, projected=projected, proposed=proposed,
                            transfer_request=transfer_id, outcome=outcome)
    rule.last_evaluation = evaluation.as_record(timezone.now())
    ReorderRule.objects.filter(pk=rule.pk).update(last_evaluation=rule.last_evaluation, held=rule.held)
    return evaluation


def _reread(rule: ReorderRule) -> ReorderRule:
    """The rule's inputs read again (after a savepoint rolled back); the caller still holds the locks."""
    fresh = _rules_with_inputs(lock=False).get(pk=rule.pk)
    fresh.held = rule.held
    return fresh


def _evaluate_in_savepoint(rule: ReorderRule, row: Stock | None, *, automatic: bool,
                           swallow: bool) -> Evaluation | None:
    """`_evaluate` in a savepoint. If the one-open-transfer index fires (a transfer of this rule committed
    since it was read), roll back to the savepoint and evaluate once more on fresh inputs (`already_open`).

    `swallow`: log any other error and return None, so the change that triggered the evaluation goes on
    (automatic evaluations); otherwise the error propagates (on demand, rule changes).
    """
    try:
        try:
            with transaction.atomic():
                return _evaluate(rule, row, automatic=automatic)
        except IntegrityError:
            logger.warning("reorder rule %s: an open transfer appeared concurrently; evaluating again", rule.pk)
            rule = _reread(rule)
            with transaction.atomic():
                return _evaluate(rule, row, automatic=automatic)
    except Exception:
        if not swallow:
            raise
        logger.exception("reorder rule %s: evaluation failed; the change that triggered it goes on", rule.pk)
        return None


# --- (a) the stock door's event ----------------------------------------------------------------------

def replenish_on_stock_change(event) -> None:
    """Subscriber of `inventory.events.StockChanged`: evaluate the active rules of the changed rows.

    Runs in the door's transaction, under the stock row locks it holds. One query finds and locks (rule
    rows only, in primary-key order) every active rule on those (warehouse, product) pairs, with its
    inputs; a row without a rule costs that one query. Each evaluation runs in a savepoint and never
    fails the stock change (errors are logged).
    """
    rows = {(change.stock.warehouse_id, change.stock.product_id): change.stock for change in event.rows}
    by_warehouse: dict[int, list[int]] = {}
    for warehouse_id, product_id in rows:
        by_warehouse.setdefault(warehouse_id, []).append(product_id)
    query = Q(pk__in=[])
    for warehouse_id, product_ids in by_warehouse.items():
        query |= Q(warehouse_id=warehouse_id, product_id__in=sorted(product_ids))
    rules = list(_rules_with_inputs(lock=True).filter(query, is_active=True).order_by("pk"))
    if not rules:
        return
    for rule in rules:
        _evaluate_in_savepoint(rule, rows[(rule.warehouse_id, rule.product_id)], automatic=True, swallow=True)


# --- evaluations outside a stock change: rule changes and on demand (`reorder_rules`), the sweep ------------

def lock_rule(rule_id: int, *, warehouse_id: int, product_id: int) -> tuple[ReorderRule, Stock]:
    """Lock the rule's stock row (created at 0 if missing), then the rule row with its inputs.

    Raises NotFound if the rule was deleted meanwhile.
    """
    row = locks.lock_stock_row(product_id, warehouse_id, create=True)
    rule = _rules_with_inputs(lock=True).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("This reorder rule no longer exists.")
    return rule, row


def evaluate_locked(rule: ReorderRule, row: Stock, *, automatic: bool, swallow: bool) -> Evaluation | None:
    """Evaluate a rule `lock_rule` returned (its locks held), in a savepoint; `swallow`: log errors, never raise."""
    return _evaluate_in_savepoint(rule, row, automatic=automatic, swallow=swallow)


def evaluate_active_rules() -> list[tuple[ReorderRule, Evaluation | None]]:
    """Evaluate every active rule automatically (`manage.py replenish`, the worker's hourly run): a held rule
    records `held`. One transaction per rule (its stock row, then its rule row); a rule that fails is
    logged and the others go on (its entry's evaluation is None)."""
    results = []
    for rule_id, warehouse_id, product_id in (ReorderRule.objects.filter(is_active=True).order_by("pk")
                                              .values_list("pk", "warehouse_id", "product_id")):
        try:
            with transaction.atomic():
                rule, row = lock_rule(rule_id, warehouse_id=warehouse_id, product_id=product_id)
                evaluation = (evaluate_locked(rule, row, automatic=True, swallow=True) if rule.is_active
                              else None)
        except NotFound:
            continue  # deleted meanwhile
        except Exception:
            logger.exception("reorder rule %s: evaluation failed", rule_id)
            rule, evaluation = ReorderRule(pk=rule_id, warehouse_id=warehouse_id, product_id=product_id), None
        if rule.is_active:
            results.append((rule, evaluation))
    return results


# --- (e) hourly, by the worker --------------------------------------------------------------------------
# One self-rescheduling task on the worker (`db_worker`), no other scheduler (as reservation expiry and
# the day closing): started when a worker starts (`core.worker.WorkerStarted`, subscribed in
# WorkflowsConfig.ready), it evaluates every active rule (expiry lowers projected stock with no stock
# change), then queues its next run an hour later. At most one READY run waits (`core.scheduling`).

REPLENISH_INTERVAL = timedelta(hours=1)
# pg_advisory_xact_lock key of "schedule the replenishment task" (any constant unique in this database).
REPLENISH_SCHEDULE_LOCK = 0x1E5E_0E01


def ensure_replenishment_scheduled(run_at: datetime) -> bool:
    """Make sure a replenishment run is queued at or before `run_at` (at most one waits)."""
    return ensure_scheduled(replenish_hourly, run_at=run_at, lock_key=REPLENISH_SCHEDULE_LOCK)


def schedule_replenishment(event=None) -> None:
    """Subscriber of `WorkerStarted`: evaluate the rules now (the chain then keeps itself going hourly)."""
    ensure_replenishment_scheduled(timezone.now())


@task()
def replenish_hourly() -> int:
    """Evaluate every active rule automatically, then queue the next run in an hour. Returns how many
    transfer requests it created."""
    try:
        created = sum(1 for _, evaluation in evaluate_active_rules()
                      if evaluation is not None and evaluation.outcome == Outcome.CREATED)
    finally:  # a run that fails still keeps the chain going
        ensure_replenishment_scheduled(timezone.now() + REPLENISH_INTERVAL)
    logger.info("replenishment: %s transfer request(s) created; next run in an hour", created)
    return created
