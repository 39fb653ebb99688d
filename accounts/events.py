"""What account services announce through the event seam (`core.events`)."""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class AccessChanged(Event):
    """A user's role, active state or warehouse changed (dismissed, demoted, promoted, deactivated,
    an admin's user change); emitted in that transaction, after the user row is saved, so what depends on
    the user's access (a webhook endpoint's owner, SPEC §16) follows in the same transaction."""

    user: object
