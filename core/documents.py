"""The one way a service takes a document row (a request, a count, a reservation) before acting on it.

Every action on a document locks its row first (the documented lock order: users, warehouses, the
document, then stock rows in primary-key order), then asks, in this order and of the locked row:
is it in the actor's scope (404, so an out-of-scope id looks unknown), does the policy allow the
action (403), does its state allow it (409). The view asked the same scope and policy before; the
service asks again under the lock because the answers can change in between.
"""

from collections.abc import Callable

from django.db.models import Model

from .errors import DomainError, NotFound, NotPending, PermissionDenied


def lock_document(model: type[Model], *, actor, pk: int, allowed: Callable, denied: str,
                  state: Callable[[Model], DomainError | None], visible: Callable | None = None,
                  related: tuple[str, ...] = ()) -> Model:
    """Lock document `pk` of `model`; then NotFound unless in scope, PermissionDenied unless `allowed`, the
    error `state(row)` returns unless it returns None.

    Scope is `model.objects.for_user(actor)` asked of the database, or `visible(actor, row)` asked of the
    locked row in Python (the same answer, kept equal by tests, one query fewer). `related` are read
    along in the locking statement (`of=("self",)`: only the document row is locked).
    """
    if related:
        rows = model.objects.select_for_update(of=("self",)).select_related(*related)
    else:
        rows = model.objects.select_for_update()  # (`select_related()` without names would join every FK)
    row = rows.filter(pk=pk).first()
    if row is None or not (visible(actor, row) if visible is not None
                           else model.objects.for_user(actor).filter(pk=row.pk).exists()):
        raise NotFound(f"No {model._meta.verbose_name} with id {pk}.")
    if not allowed(actor, row):
        raise PermissionDenied(denied)
    error = state(row)
    if error is not None:
        raise error
    return row


def pending(row) -> DomainError | None:
    """The state check of a request that can be decided or cancelled only while pending (409 `not_pending`)."""
    return None if row.is_pending else NotPending(f"This request is already {row.status}.")
