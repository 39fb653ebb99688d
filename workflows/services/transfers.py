"""Transfer requests (SPEC §5, §11): create, decide, and the journey of an `in_transit` transfer.

`direct`: approval moves every line at once. `in_transit`: `pending → approved` (the lines are
reserved at the source) `→ in_transit` (shipped: out of the source, into the destination's
`incoming`) `→ received | closed`; `pending | approved → cancelled`.

Every action runs in one transaction and locks the transfer row first; its lines are written only
under that lock, so concurrent actions on one transfer are serialized. Stock rows are locked second,
by the stock door, in primary-key order across all lines.
"""

from django.db import transaction

from accounts.audit import record_event
from core.decisions import Decision
from core.documents import lock_document, pending
from core.errors import InvalidState, PermissionDenied
from core.events import emit
from inventory.errors import InvalidQuantity, SameWarehouse
from inventory.models import Product, StockMovement
from inventory.services import (
    Reference,
    check_active,
    check_quantity,
    hold_transfer_lines,
    move_stock_lines,
    receive_transfer_lines,
    release_transfer_lines,
    ship_transfer_lines,
    write_off_in_transit,
)
from inventory.services.stock import stock_operation
from warehouses.models import Warehouse

from .. import policies
from ..errors import InvalidTransfer
from ..events import TransferRequestChanged
from ..models import MAX_LINES, ReorderRule, TransferLine, TransferMode, TransferRequest, TransferStatus
from .common import check_decision, record_decision


def _reference(transfer: TransferRequest) -> Reference:
    return Reference(StockMovement.ReferenceType.TRANSFER_REQUEST, transfer.pk)


def _units(lines) -> list[tuple[Product, int]]:
    return [(line.product, line.quantity) for line in lines]


def _locked_lines(transfer: TransferRequest) -> list[TransferLine]:
    """The transfer's lines, read after its row lock (so they are current), in id order."""
    return list(TransferLine.objects.filter(transfer=transfer).select_related("product").order_by("pk"))


def in_state(states: tuple[str, ...], modes: tuple[str, ...] = (TransferMode.IN_TRANSIT,)):
    """The state check of a transfer action allowed only in `states` and `modes` (409 `invalid_state`)."""
    def check(transfer: TransferRequest):
        if transfer.status in states and transfer.mode in modes:
            return None
        return InvalidState(status=transfer.status, mode=transfer.mode,
                            detail=f"This action does not apply to a {transfer.status} {transfer.mode} transfer.")
    return check


RECEIVABLE = in_state((TransferStatus.IN_TRANSIT,))


def _lock_transfer(*, actor, transfer_id: int, allowed, denied: str, state) -> TransferRequest:
    """Lock the transfer row (`lock_document`): 404 unless the actor sees it, 403 unless `allowed`, then `state`."""
    return lock_document(TransferRequest, actor=actor, pk=transfer_id, allowed=allowed, denied=denied, state=state)


def _set_status(transfer: TransferRequest, status: str) -> None:
    transfer.status = status
    transfer.save(update_fields=["status"])


def _hold_rule_of(transfer: TransferRequest) -> None:
    """A person refused a transfer a reorder rule created: hold the rule (SPEC §15), in this transaction.

    Automatic evaluations then create nothing until the rule is changed or evaluated on demand, so the
    next sale does not re-create what was just refused. Locks the rule row (after any stock rows: the
    lock order puts rule rows after stock rows).
    """
    if transfer.reorder_rule_id is not None:
        ReorderRule.objects.filter(pk=transfer.reorder_rule_id).update(held=True)


def _check_lines(lines: list[tuple[Product, int]]) -> None:
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidTransfer(f"A transfer has 1 to {MAX_LINES} lines.")
    seen = set()
    for product, quantity in lines:
        if product.pk in seen:
            raise InvalidTransfer(f"Product {product.sku} is listed twice.", product=product.pk)
        seen.add(product.pk)
        check_quantity(quantity)


@transaction.atomic
def create_transfer_request(*, actor, source: Warehouse, destination: Warehouse, product: Product | None = None,
                            quantity: int | None = None, lines: list[tuple[Product, int]] | None = None,
                            mode: str = TransferMode.DIRECT, reason: str = "",
                            ip: str | None = None) -> TransferRequest:
    """Ask to move products from `source` to `destination`: Part I's `product`/`quantity`, or `lines`.

    Starts `pending`, one `TransferLine` per product. Locks nothing. Raises PermissionDenied unless
    the actor is an admin or the manager of either warehouse; SameWarehouse (`same_warehouse`);
    DomainError `invalid` (no lines or both shapes, more than 100 lines, a product twice);
    InactiveObject, InvalidQuantity.
    """
    if not policies.can_create_transfer(actor, source, destination):
        raise PermissionDenied("Only an admin or the manager of the source or destination may request a transfer.")
    return new_transfer_request(requested_by=actor, source=source, destination=destination, product=product,
                                quantity=quantity, lines=lines, mode=mode, reason=reason, ip=ip)


def new_transfer_request(*, requested_by, source: Warehouse, destination: Warehouse, product: Product | None = None,
                         quantity: int | None = None, lines: list[tuple[Product, int]] | None = None,
                         mode: str = TransferMode.DIRECT, reason: str = "", reorder_rule=None,
                         ip: str | None = None) -> TransferRequest:
    """Validate and write a pending transfer request and its lines, and audit it; asks no policy.

    The body of `create_transfer_request` (which asks the policy first), shared with replenishment:
    a reorder rule's transfer has `requested_by` None and names its `reorder_rule`. Call inside a
    transaction. Raises what `create_transfer_request` raises, except PermissionDenied.
    """
    if source.pk == destination.pk:
        raise SameWarehouse()
    if mode not in TransferMode.values:
        raise InvalidTransfer(f"Unknown mode {mode!r}.")
    if (lines is None) == (product is None):
        raise InvalidTransfer("Send either product and quantity, or lines.")
    lines = [(product, quantity)] if lines is None else list(lines)
    _check_lines(lines)
    for line_product, _ in lines:
        check_active(warehouses=[source, destination], product=line_product)
    single = lines[0] if len(lines) == 1 else (None, None)
    transfer = TransferRequest.objects.create(
        source_warehouse=source, destination_warehouse=destination, product=single[0], quantity=single[1],
        mode=mode, reason=reason or "", requested_by=requested_by, reorder_rule=reorder_rule,
    )
    TransferLine.objects.bulk_create(
        [TransferLine(transfer=transfer, product=line_product, quantity=units) for line_product, units in lines])
    record_event(actor=requested_by, action="transfer_request.create", target=transfer, ip=ip,
                 data={"source_warehouse": source.pk, "destination_warehouse": destination.pk, "mode": mode,
                       **({"reorder_rule": reorder_rule.pk} if reorder_rule is not None else {}),
                       "lines": [[line_product.pk, units] for line_product, units in lines],
                       **({"product": single[0].pk, "quantity": single[1]} if single[0] else {})})
    emit(TransferRequestChanged(transfer_request=transfer, action="created"))
    return transfer


@transaction.atomic
def decide_transfer_request(*, actor, request_id: int, decision: str, reason: str = "",
                            ip: str | None = None) -> TransferRequest:
    """Approve or reject a pending transfer.

    Approving a `direct` transfer moves every line at once (a `transfer_out` and a `transfer_in`
    per line); approving an `in_transit` one reserves every line at the source. All lines or none.
    Locks: the request row first, then the stock rows of every line in primary-key order (through
    `move_stock_lines` / `hold_transfer_lines`); rejecting a transfer a reorder rule created holds the rule
    (its row is locked last). Raises InvalidDecision; NotFound if unknown or
    outside the actor's scope; PermissionDenied unless the actor is an admin; NotPending if already
    decided; InsufficientStock naming the short `product` (nothing written, stays pending) or
    InactiveObject from the stock service.
    """
    check_decision(decision)
    transfer = lock_document(TransferRequest, actor=actor, pk=request_id, state=pending,
                            allowed=policies.can_decide_transfer,
                            denied="Only an admin may decide a transfer request.")
    data = {"source_warehouse": transfer.source_warehouse_id, "destination_warehouse":
            transfer.destination_warehouse_id, "product": transfer.product_id, "quantity": transfer.quantity,
            "mode": transfer.mode}
    # One door operation for the whole decision: the stock subscribers (replenishment) run once, after
    # the transfer's new status is saved, so they never count its units twice.
    with stock_operation():
        _decide(transfer, actor=actor, decision=decision, reason=reason, data=data, ip=ip)
    emit(TransferRequestChanged(transfer_request=transfer, action="decided"))
    return transfer


def _decide(transfer: TransferRequest, *, actor, decision: str, reason: str, data: dict, ip) -> TransferRequest:
    if decision == Decision.APPROVE:
        lines = _locked_lines(transfer)
        if transfer.mode == TransferMode.DIRECT:
            movements = move_stock_lines(actor=actor, source=transfer.source_warehouse,
                                         destination=transfer.destination_warehouse, lines=_units(lines),
                                         reference=_reference(transfer))
            for line in lines:
                line.shipped_quantity = line.received_quantity = line.quantity
            TransferLine.objects.bulk_update(lines, ["shipped_quantity", "received_quantity"])
            data.update(movements=[movement.pk for movement in movements])
        else:
            hold_transfer_lines(actor=actor, source=transfer.source_warehouse, lines=_units(lines))
            data.update(reserved=[[line.product_id, line.quantity] for line in lines])
    else:
        _hold_rule_of(transfer)
    return record_decision(transfer, kind="transfer_request", actor=actor, decision=decision, reason=reason,
                           data=data, ip=ip)


@transaction.atomic
def ship_transfer(*, actor, transfer_id: int, ip: str | None = None) -> TransferRequest:
    """Ship an approved in-transit transfer in full: `approved → in_transit`.

    Per line, the source's `quantity` and `reserved` shrink (a `transfer_out` movement) and the
    destination's `incoming` grows. Locks: the transfer row, then the source and destination stock
    rows of every line in primary-key order. Raises NotFound (unknown or out of scope),
    PermissionDenied unless the actor is an admin or the source's manager or staff, InvalidState
    (with `status`) unless it is an approved in-transit transfer.
    """
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_ship,
                              denied="Only an admin or the source warehouse's manager or staff may ship it.",
                              state=in_state((TransferStatus.APPROVED,)))
    lines = _locked_lines(transfer)
    with stock_operation():  # subscribers run after the new status is saved (see decide_transfer_request)
        movements = ship_transfer_lines(actor=actor, source=transfer.source_warehouse,
                                        destination=transfer.destination_warehouse, lines=_units(lines),
                                        reference=_reference(transfer))
        for line in lines:
            line.shipped_quantity = line.quantity
        TransferLine.objects.bulk_update(lines, ["shipped_quantity"])
        _set_status(transfer, TransferStatus.IN_TRANSIT)
    record_event(actor=actor, action="transfer_request.ship", target=transfer, ip=ip,
                 data={"movements": [movement.pk for movement in movements],
                       "lines": [[line.pk, line.shipped_quantity] for line in lines]})
    emit(TransferRequestChanged(transfer_request=transfer, action="shipped"))
    return transfer


def _receipt_lines(transfer: TransferRequest, lines: list[TransferLine], receipts: list[dict]):
    """Match a receipt's `{line, accepted, rejected}` to the transfer's lines; 400 before anything is written."""
    by_pk = {line.pk: line for line in lines}
    matched = []
    if not receipts:
        raise InvalidTransfer("A receipt names at least one line.")
    for receipt in receipts:
        line = by_pk.get(receipt["line"])
        if line is None:
            raise InvalidTransfer(f"Line {receipt['line']} is not a line of transfer {transfer.pk}.",
                              line=receipt["line"])
        if any(line is other for other, _, _ in matched):
            raise InvalidTransfer(f"Line {line.pk} is named twice.", line=line.pk)
        accepted, rejected = receipt.get("accepted", 0), receipt.get("rejected", 0)
        if accepted < 0 or rejected < 0:
            raise InvalidQuantity(f"Line {line.pk}: accepted and rejected are at least 0.", line=line.pk)
        if accepted + rejected > line.outstanding:
            raise InvalidQuantity(
                f"Line {line.pk}: {accepted + rejected} units reported, only {line.outstanding} of "
                f"{line.shipped_quantity} shipped are still unaccounted for.", line=line.pk,
                outstanding=line.outstanding)
        matched.append((line, accepted, rejected))
    # A receiving form sends every line, zeros for what has not arrived yet: such a line changes nothing.
    return [(line, accepted, rejected) for line, accepted, rejected in matched if accepted or rejected]


@transaction.atomic
def receive_transfer(*, actor, transfer_id: int, receipts: list[dict], ip: str | None = None) -> TransferRequest:
    """Record one (possibly partial) receipt of an in-transit transfer; repeatable, accumulating.

    `receipts` is `[{line, accepted, rejected}]`: accepted units enter the destination's stock (a
    `transfer_in` movement), rejected ones only leave its `incoming`. When every line is fully
    accounted for (`received + rejected = shipped`) the transfer is `received`. Locks: the transfer
    row, then the destination stock rows in primary-key order. Raises NotFound, PermissionDenied
    unless the actor is an admin or the destination's manager or staff, InvalidState unless
    `in_transit` (checked before the lines); InvalidTransfer `invalid` (unknown line, a line of another
    transfer, a line twice) and InvalidQuantity (more than shipped and unaccounted for) before anything
    is written. A line with 0 accepted and 0 rejected changes nothing; a receipt of only such lines
    writes nothing at all.
    """
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_receive,
                              denied="Only an admin or the destination warehouse's manager or staff may receive it.",
                              state=RECEIVABLE)
    lines = _locked_lines(transfer)
    matched = _receipt_lines(transfer, lines, receipts)
    if not matched:
        return transfer  # every line 0/0: nothing arrived, nothing changes (SPEC §11)
    with stock_operation():  # subscribers run after the new status is saved (a rule sees its transfer closed)
        movements = receive_transfer_lines(
            actor=actor, destination=transfer.destination_warehouse,
            lines=[(line.product, accepted, rejected) for line, accepted, rejected in matched],
            reference=_reference(transfer))
        for line, accepted, rejected in matched:
            line.received_quantity += accepted
            line.rejected_quantity += rejected
        TransferLine.objects.bulk_update([line for line, _, _ in matched], ["received_quantity", "rejected_quantity"])
        if all(line.outstanding == 0 for line in lines):
            _set_status(transfer, TransferStatus.RECEIVED)
    record_event(actor=actor, action="transfer_request.receive", target=transfer, ip=ip,
                 data={"movements": [movement.pk for movement in movements], "status": transfer.status,
                       "lines": [[line.pk, accepted, rejected] for line, accepted, rejected in matched]})
    # After each receipt that changed something, also the last one (the transfer is then `received`).
    emit(TransferRequestChanged(transfer_request=transfer, action="received"))
    return transfer


@transaction.atomic
def close_transfer(*, actor, transfer_id: int, reason: str, ip: str | None = None) -> TransferRequest:
    """End an in-transit transfer early: units neither received nor rejected are lost in transit.

    They leave the destination's `incoming` and are recorded as rejected on their line (no ledger
    row: they were on no warehouse's shelf). `in_transit → closed`. Locks: the transfer row, then the
    destination stock rows in primary-key order. Raises NotFound, PermissionDenied unless the actor is
    an admin or the destination's manager, InvalidState unless `in_transit`, DomainError `invalid`
    without a reason.
    """
    if not (reason or "").strip():
        raise InvalidTransfer("A reason is required to close a transfer.")
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_close,
                              denied="Only an admin or the destination warehouse's manager may close it.",
                              state=in_state((TransferStatus.IN_TRANSIT,)))
    lost = [line for line in _locked_lines(transfer) if line.outstanding]
    with stock_operation():  # subscribers run after the new status is saved (a rule sees its transfer closed)
        write_off_in_transit(actor=actor, destination=transfer.destination_warehouse,
                             lines=[(line.product, line.outstanding) for line in lost])
        written_off = [[line.pk, line.outstanding] for line in lost]
        for line in lost:
            line.rejected_quantity += line.outstanding
        TransferLine.objects.bulk_update(lost, ["rejected_quantity"])
        _set_status(transfer, TransferStatus.CLOSED)
    record_event(actor=actor, action="transfer_request.close", target=transfer, ip=ip,
                 data={"reason": reason, "lost": written_off})
    emit(TransferRequestChanged(transfer_request=transfer, action="closed"))
    return transfer


@transaction.atomic
def cancel_transfer(*, actor, transfer_id: int, ip: str | None = None) -> TransferRequest:
    """Cancel a pending transfer, or an approved in-transit one that has not shipped (its reservation is released).

    Locks: the transfer row, then (approved) the source stock rows in primary-key order, then (a transfer a
    reorder rule created, which this holds: SPEC §15) the rule row. Raises NotFound, PermissionDenied unless
    the actor is an admin or, while pending, the requester (the destination's manager for a generated one),
    InvalidState once shipped, decided otherwise, or approved in `direct` mode (the units moved).
    """
    transfer = _lock_transfer(actor=actor, transfer_id=transfer_id, allowed=policies.can_cancel_transfer,
                              denied="Only an admin, or the requester while it is pending, may cancel it.",
                              state=in_state((TransferStatus.PENDING, TransferStatus.APPROVED),
                                             (TransferMode.IN_TRANSIT, TransferMode.DIRECT)))
    data = {"previous_status": transfer.status}
    if transfer.status == TransferStatus.PENDING:
        transfer.mark_decided(actor=actor, status=TransferStatus.CANCELLED, reason="")
    elif transfer.mode == TransferMode.IN_TRANSIT:
        lines = _locked_lines(transfer)
        with stock_operation():  # subscribers run after the new status is saved
            release_transfer_lines(actor=actor, source=transfer.source_warehouse, lines=_units(lines))
            data.update(released=[[line.product_id, line.quantity] for line in lines])
            _set_status(transfer, TransferStatus.CANCELLED)  # the approver stays on record
    else:
        raise InvalidState(status=transfer.status, mode=transfer.mode,
                           detail="An approved direct transfer has moved its units; it cannot be cancelled.")
    _hold_rule_of(transfer)  # after the stock rows (lock order: stock rows, then rule rows)
    record_event(actor=actor, action="transfer_request.cancel", target=transfer, ip=ip, data=data)
    emit(TransferRequestChanged(transfer_request=transfer, action="cancelled"))
    return transfer

