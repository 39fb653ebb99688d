"""The in-transaction event seam: services say what happened, the apps above react in the same transaction.

A service that changes something other apps care about emits a typed event (`emit(StockChanged(...))`)
after its writes, inside its transaction. Each app registers its subscribers in `AppConfig.ready()`
(`subscribe(StockChanged, open_or_resolve_alerts)`), so a lower layer makes things happen above it
without importing it. Subscribers run synchronously, in registration order, in the emitter's
transaction and under the locks it holds: what they write commits or rolls back with the change.
An exception from a subscriber propagates and rolls the change back; a subscriber that must never
fail the change (an evaluation that only observes) catches its own errors. Slow work (e-mail, HTTP)
is never done in a subscriber: it enqueues a task (database backend, same transaction).

Not Django signals: events are emitted explicitly by services (never from `save()`), each event type
is a frozen dataclass declared by the app that emits it, and `subscriptions()` lists who listens
(docs/ARCHITECTURE.md shows the table; a test keeps it in step).
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class Event:
    """Base of every event type: a frozen dataclass of what happened (ids, rows the emitter has locked)."""


Subscriber = Callable[[Event], object]

_subscribers: dict[type[Event], list[Subscriber]] = defaultdict(list)


def subscribe(event_type: type[Event], subscriber: Subscriber) -> None:
    """Call `subscriber(event)` for every emitted `event_type` (idempotent: a second registration is ignored)."""
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(f"{event_type!r} is not an Event type")
    if subscriber not in _subscribers[event_type]:
        _subscribers[event_type].append(subscriber)


def emit(event: Event) -> None:
    """Run the subscribers of `event`'s type now, inside the caller's transaction.

    Raises RuntimeError outside a transaction: an event describes uncommitted work whose reactions must
    commit or roll back with it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{type(event).__name__} is emitted inside the transaction of the change it describes.")
    for subscriber in _subscribers.get(type(event), ()):
        subscriber(event)


def subscriptions() -> dict[str, list[str]]:
    """Who listens to what: `{"inventory.events.StockChanged": ["inventory.alerts.open_or_resolve_alerts"]}`."""
    return {
        f"{event_type.__module__}.{event_type.__qualname__}": [f"{s.__module__}.{s.__qualname__}" for s in subs]
        for event_type, subs in sorted(_subscribers.items(), key=lambda item: item[0].__qualname__)
        if subs
    }
