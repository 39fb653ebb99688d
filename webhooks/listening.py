"""Who is listening: the active endpoints' event filters, read once per transaction.

Every service that announces something asks "does an active endpoint want this type?" in its transaction; a
purchase approval asks twice (`stock.changed`, `purchase_request.decided`), a fulfilment that resolves an
alert three times. The answer is read once per transaction and reused: the cache lives while a marker it
registers with `transaction.on_commit` is still pending (a commit or a rollback of the transaction clears
the list, and so the cache; a savepoint rolled back drops its markers, so the next question reads again).
Endpoint changes in the same transaction go through `webhooks.services`, which forget the answer; a change
committed by another transaction meanwhile is seen by the next transaction, as if it had committed a moment
later.
"""

from django.db import transaction

from .models import ALL_EVENTS, WebhookEndpoint


class _Marker:
    """A no-op on-commit callback whose presence in the pending list says "this transaction is still open"."""

    def __call__(self) -> None:
        return None


def active_filters() -> list[list[str]]:
    """The event filters of the active endpoints (one query per transaction)."""
    connection = transaction.get_connection()
    cached = getattr(connection, "_webhook_filters", None)
    if cached is not None and connection.in_atomic_block and any(
            entry[1] is cached[0] for entry in connection.run_on_commit):
        return cached[1]
    filters = list(WebhookEndpoint.objects.filter(is_active=True).values_list("events", flat=True))
    if connection.in_atomic_block:
        marker = _Marker()
        transaction.on_commit(marker)
        connection._webhook_filters = (marker, filters)
    return filters


def wanted(event_type: str) -> bool:
    """Does any active endpoint subscribe to `event_type`?"""
    return any(ALL_EVENTS in events or event_type in events for events in active_filters())


def forget() -> None:
    """An endpoint was created, changed or deactivated in this transaction: read the filters again."""
    transaction.get_connection()._webhook_filters = None


def forget_on_request(**kwargs) -> None:
    """`request_started` receiver: a request starts with no cached answer."""
    connection = transaction.get_connection()
    connection._webhook_filters = None
