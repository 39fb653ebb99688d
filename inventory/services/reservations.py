"""Reservations: units of a stock row promised (to an order, a customer) and not yet taken.

A reservation's units count in `Stock.reserved` while it is `active`; the stock door
(`inventory.services.stock`) is the only writer of that column and applies the availability rule.
Lock order: the reservation row first (it is the document), then its stock row. An active
reservation whose `expires_at` has passed no longer holds units: the worker expires it
(the self-rescheduling task `expire_reservations` at the end of this module, run by `db_worker`), and
so does any operation that locks its stock row (`stock.lock_row_expiring_holds`).
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from accounts.audit import record_event
from core.documents import lock_document
from core.errors import PermissionDenied
from core.events import emit
from core.scheduling import ensure_scheduled, serialize_scheduling
from warehouses.models import Warehouse

from .. import locks, policies
from ..errors import InsufficientStock, InvalidQuantity, InvalidReservation, ReservationNotActive
from ..events import ReservationChanged
from ..models import Product, Reservation, Stock, StockMovement
from .stock import (
    Reference,
    check_active,
    check_quantity,
    expire_reservation,
    hold,
    lock_row_expiring_holds,
    stock_operation,
    take_reserved,
    unhold,
)

logger = logging.getLogger(__name__)

Status = Reservation.Status

# How far ahead a reservation may expire: a longer hold is a business decision, not a reservation.
MAX_HOLD = timedelta(days=30)
REFERENCE_MAX_LENGTH = 100
REFERENCE_TYPE = StockMovement.ReferenceType.RESERVATION


def check_expires_at(expires_at: datetime | None, *, now: datetime) -> None:
    """`expires_at` is in the future and at most `MAX_HOLD` ahead (or None: held until released or fulfilled)."""
    if expires_at is None:
        return
    if expires_at <= now:
        raise InvalidReservation("expires_at must be in the future.")
    if expires_at > now + MAX_HOLD:
        raise InvalidReservation(f"expires_at must be at most {MAX_HOLD.days} days ahead.")


@transaction.atomic
@stock_operation()
def reserve_stock(*, actor, warehouse: Warehouse, product: Product, quantity: int,
                  expires_at: datetime | None = None, reference: str = "", note: str = "",
                  ip: str | None = None) -> Reservation:
    """Promise `quantity` units of a product in a warehouse: `reserved` grows, a `Reservation` is created.

    Locks: the stock row (after expiring its due reservations). Raises PermissionDenied unless the
    actor is an admin or the warehouse's manager or staff; InactiveObject; InvalidQuantity;
    DomainError `invalid` for an `expires_at` in the past or more than 30 days ahead or a reference
    over 100 characters; InsufficientStock (with `available`, `requested`) if more than `available`
    is asked for or the row does not exist. Nothing is written when it raises. A reservation with an
    `expires_at` makes sure the expiry task is scheduled (in this transaction).
    """
    now = timezone.now()
    check_quantity(quantity)
    check_expires_at(expires_at, now=now)
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise InvalidReservation(f"reference must be at most {REFERENCE_MAX_LENGTH} characters.")
    if not policies.can_reserve(actor, warehouse):
        raise PermissionDenied("Only an admin or this warehouse's manager or staff may reserve stock here.")
    check_active(warehouses=[warehouse], product=product)
    stock = lock_row_expiring_holds(product.pk, warehouse.pk, now=now)
    if stock is None:
        raise InsufficientStock(available=0, requested=quantity)
    hold(stock, quantity=quantity)
    reservation = Reservation.objects.create(
        warehouse=warehouse, product=product, stock=stock, quantity=quantity, reference=reference, note=note,
        created_by=actor, created_at=now, expires_at=expires_at,
    )
    record_event(actor=actor, action="reservation.create", target=reservation, ip=ip,
                 data={"stock": stock.pk, "quantity": quantity, "reference": reference,
                       "expires_at": expires_at.isoformat() if expires_at else None,
                       "reserved_after": stock.reserved})
    emit(ReservationChanged(reservation=reservation, action="created"))
    if expires_at is not None:
        ensure_expiry_scheduled(expires_at)
    return reservation


def _lock_active(*, actor, reservation_id: int, now: datetime) -> Reservation:
    """Lock a reservation the actor may act on and which still holds its units."""
    def active(reservation: Reservation):
        status = reservation.status
        if status == Status.ACTIVE and reservation.is_due(now):
            status = Status.EXPIRED
        return None if status == Status.ACTIVE else ReservationNotActive(f"This reservation is {status}.",
                                                                         status=status)

    # The scope (`Reservation.objects.for_user`) asked of the locked row, whose warehouse is read along.
    return lock_document(
        Reservation, actor=actor, pk=reservation_id, state=active, visible=policies.can_see_reservation,
        allowed=policies.can_act_on_reservation, related=("warehouse", "product"),
        denied="Only an admin or this warehouse's manager or staff may act on this reservation.")


def _lock_stock_of(reservation: Reservation, *, now: datetime) -> Stock:
    # `held`: the reservation is locked and not due, so a row reserving no more than it has nothing due.
    stock = lock_row_expiring_holds(reservation.product_id, reservation.warehouse_id, now=now,
                                    held=reservation.quantity)
    if stock is None or stock.pk != reservation.stock_id:  # rows are never deleted or re-keyed; this would be a bug
        raise RuntimeError(f"reservation {reservation.pk} holds stock {reservation.stock_id}, "
                           f"not {getattr(stock, 'pk', None)}")
    return stock


@transaction.atomic
@stock_operation()
def release_reservation(*, actor, reservation_id: int, ip: str | None = None) -> Reservation:
    """Give a reservation's units back: active → `released`, `reserved` shrinks.

    Locks: the reservation row, then its stock row. Raises NotFound if unknown or outside the
    actor's warehouses, PermissionDenied unless the actor may act on it, ReservationNotActive
    (`not_active`, with `status`) if it is not active or its `expires_at` has passed.
    """
    now = timezone.now()
    reservation = _lock_active(actor=actor, reservation_id=reservation_id, now=now)
    stock = _lock_stock_of(reservation, now=now)
    unhold(stock, quantity=reservation.quantity)
    reservation.status = Status.RELEASED
    reservation.closed_at = now
    reservation.save(update_fields=["status", "closed_at"])
    record_event(actor=actor, action="reservation.release", target=reservation, ip=ip,
                 data={"stock": stock.pk, "quantity": reservation.quantity, "reserved_after": stock.reserved})
    emit(ReservationChanged(reservation=reservation, action="released"))
    return reservation


@transaction.atomic
@stock_operation()
def fulfil_reservation(*, actor, reservation_id: int, quantity: int | None = None,
                       ip: str | None = None) -> Reservation:
    """Take a reservation's units out of the warehouse (one `fulfil` movement); release any remainder.

    `quantity` defaults to all of it. `quantity` and `reserved` of the stock row shrink by the units
    taken, `reserved` also by the remainder, in one write. Locks: the reservation row, then its stock
    row. Raises NotFound, PermissionDenied, ReservationNotActive as `release_reservation`;
    InvalidQuantity if `quantity` is not positive or more than the reservation's; InactiveObject if
    the warehouse or product was deactivated (release the reservation instead).

    A lot-tracked product (its `tracking` read under the row lock): the units are taken FEFO from lots
    that are not expired, one `fulfil` movement per lot; a reservation made before its units expired
    still holds, but only units that are not expired leave: if fewer than `quantity` are left,
    InsufficientStock with `available` (`min(quantity − expired, available + held)`, i.e. the units on
    hand that are not expired) and `requested`, nothing changed (SPEC §14).
    """
    now = timezone.now()
    reservation = _lock_active(actor=actor, reservation_id=reservation_id, now=now)
    taken = reservation.quantity if quantity is None else quantity
    check_quantity(taken)
    if taken > reservation.quantity:
        raise InvalidQuantity(f"Cannot fulfil {taken}: the reservation holds {reservation.quantity}.")
    check_active(warehouses=[reservation.warehouse], product=reservation.product)
    stock = _lock_stock_of(reservation, now=now)
    movements = take_reserved(stock, taken=taken, release=reservation.quantity, actor=actor,
                              reference=Reference(type=REFERENCE_TYPE, id=reservation.pk), note=reservation.reference)
    reservation.status = Status.FULFILLED
    reservation.fulfilled_quantity = taken
    reservation.closed_at = now
    reservation.save(update_fields=["status", "fulfilled_quantity", "closed_at"])
    # A lot-tracked fulfilment names the lots it took, in the order taken ([lot id, units]).
    lots = [[movement.lot_id, -movement.quantity_change] for movement in movements if movement.lot_id]
    record_event(actor=actor, action="reservation.fulfil", target=reservation, ip=ip,
                 data={"stock": stock.pk, "movement": movements[-1].pk, "quantity": taken,
                       "released": reservation.quantity - taken, "quantity_after": stock.quantity,
                       "reserved_after": stock.reserved,
                       **({"movements": [movement.pk for movement in movements], "lots": lots} if lots else {})})
    emit(ReservationChanged(reservation=reservation, action="fulfilled"))
    return reservation


def expire_due_reservations(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire active reservations whose `expires_at` is at or before `now`; return how many.

    One short transaction per reservation (the worker must not hold many stock rows at once):
    lock the reservation (`skip_locked`: one being released or fulfilled is settled by that
    transaction), then its stock row (document → stock, the documented order), then expire it.
    At most `limit` per call; the task calls again for the rest.
    """
    now = now or timezone.now()
    due = list(Reservation.objects.filter(status=Status.ACTIVE, expires_at__lte=now)
               .order_by("expires_at", "pk").values_list("pk", flat=True)[:limit])
    count = 0
    for pk in due:
        with transaction.atomic():
            reservation = (Reservation.objects.select_for_update(skip_locked=True)
                           .filter(pk=pk, status=Status.ACTIVE, expires_at__lte=now).first())
            if reservation is None:
                continue
            stock = locks.lock_stock_row(reservation.product_id, reservation.warehouse_id)
            expire_reservation(reservation, stock, now=now)
            count += 1
    return count


# --- expiry in the worker ---------------------------------------------------------------------------
# One self-rescheduling task on the worker (`db_worker`), no other scheduler: it expires what is due,
# then enqueues its next run for the earliest remaining `expires_at` (at most once a minute) while any
# active reservation has one. At most one READY instance exists: the check and the enqueue run in one
# transaction serialized by an advisory lock (on SQLite, write transactions are already serialized).
# A hold that the worker misses is still expired by the next operation on its stock row.

EXPIRY_TASK_PATH = "inventory.services.reservations.expire_reservations"
EXPIRY_INTERVAL = timedelta(seconds=60)
# pg_advisory_xact_lock key of "schedule the expiry task" (any constant unique in this database).
EXPIRY_SCHEDULE_LOCK = 0x1E5E_2A7E


def ensure_expiry_scheduled(run_at: datetime) -> bool:
    """Make sure an expiry run is queued at or before `run_at` (at most one waits; `core.scheduling`)."""
    return ensure_scheduled(expire_reservations, run_at=run_at, lock_key=EXPIRY_SCHEDULE_LOCK)


@task()
def expire_reservations() -> int:
    """Expire the due reservations, then schedule the next run while any active one has an `expires_at`.

    The next run is at the earliest remaining `expires_at`, but not sooner than a minute from now.
    Returns how many reservations it expired.
    """
    expired = 0
    while True:
        batch = expire_due_reservations()
        expired += batch
        if batch < 500:
            break
    with transaction.atomic():
        serialize_scheduling(EXPIRY_SCHEDULE_LOCK)
        earliest = (Reservation.objects.filter(status=Status.ACTIVE, expires_at__isnull=False)
                    .order_by("expires_at").values_list("expires_at", flat=True).first())
        if earliest is not None:
            ensure_expiry_scheduled(max(timezone.now() + EXPIRY_INTERVAL, earliest))
    logger.info("expired %s reservation(s); next run %s", expired, "scheduled" if earliest else "not needed")
    return expired
