"""Reads that may be a little stale go to the streaming replica; everything else to the primary.

With `DATABASE_REPLICA_URL` set, settings add a `replica` database and this router. Code that only reads
and may lag the primary by the replication delay (dashboards, reports, exports) runs inside
`replica_reads()`; every other read, every write and every lock (`select_for_update`) uses the primary
(`default`). Without a replica the flag changes nothing. Read-after-write choices: docs/SCALING.md.
"""

from contextlib import ContextDecorator
from contextvars import ContextVar

from django.conf import settings
from django.db import transaction

REPLICA = "replica"
_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


class replica_reads(ContextDecorator):  # noqa: N801 - used like a function: `with replica_reads():`
    """Within this block (or decorated function), reads go to the replica when one is configured."""

    def __enter__(self):
        self._token = _reading_from_replica.set(True)
        return self

    def __exit__(self, *exc):
        _reading_from_replica.reset(self._token)
        return False


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_or_default() -> str:
    """The alias for a read that may lag: the replica when configured and no transaction is open on the
    primary (inside one the caller wants its own writes and locks), else `default`. For querysets read
    outside a `replica_reads()` block, e.g. a generator streamed after the view returned: `.using(...)`."""
    if replica_configured() and not transaction.get_connection("default").in_atomic_block:
        return REPLICA
    return "default"


class PrimaryReplicaRouter:
    """`replica` for reads inside `replica_reads()` (outside any transaction on the primary); else `default`."""

    def db_for_read(self, model, **hints):
        return replica_or_default() if _reading_from_replica.get() else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # the replica replays the primary's WAL, schema included
