"""Record the events a block of code emits (tests only).

`recording(EventType, ...)` subscribes one recorder through `core.events.subscribe` for the block and
removes it afterwards, so the global subscriber table (and the docs/ARCHITECTURE.md check of it) is as
it was. Each recorded event keeps what the database held for its subject row at the moment of the emit,
which proves the row was saved before the event was emitted, with the state it carries.
"""

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

from core import events


@dataclass(frozen=True)
class Seen:
    """One emitted event, its subject (the first field: the document, reservation, alert or user; a
    `StockChanged`'s rows) and the subject's row as the database had it at the emit (None: not saved yet)."""

    event: events.Event
    subject: object
    row: dict | None
    in_transaction: bool

    @property
    def kind(self) -> str:
        return type(self.event).__name__

    @property
    def action(self) -> str | None:
        return getattr(self.event, "action", None)


class Recorded(list):
    """The `Seen` events of a block, in emit order."""

    def summary(self) -> list[tuple]:
        """`[(event class name, action, subject pk, status in the database at the emit)]`, in emit order."""
        return [(seen.kind, seen.action, getattr(seen.subject, "pk", None), (seen.row or {}).get("status"))
                for seen in self]


def subject_of(event: events.Event):
    return getattr(event, dataclasses.fields(event)[0].name)


@contextmanager
def recording(*event_types: type[events.Event], read_rows: bool = True):
    """Record every event of `event_types` emitted inside the block; `read_rows=False` reads nothing (no query)."""
    seen = Recorded()

    def recorder(event):
        subject = subject_of(event)
        row = None
        if read_rows and isinstance(getattr(subject, "pk", None), int):
            row = type(subject)._base_manager.filter(pk=subject.pk).values().first()
        seen.append(Seen(event=event, subject=subject, row=row,
                         in_transaction=transaction.get_connection().in_atomic_block))

    for event_type in event_types:
        events.subscribe(event_type, recorder)
    try:
        yield seen
    finally:
        for event_type in event_types:
            subscribers = events._subscribers.get(event_type)
            if subscribers is not None and recorder in subscribers:
                subscribers.remove(recorder)
            if subscribers is not None and not subscribers:
                events._subscribers.pop(event_type, None)
