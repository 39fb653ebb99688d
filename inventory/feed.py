"""The ledger's change feed: a commit-aware position, so a client following it misses nothing.

Ids are allocated when a row is inserted, not when its transaction commits: on PostgreSQL a row
with a smaller id can become visible after a larger one, so "rows with id > X" can skip it. The
feed orders rows by their *position* `(txid, id)`, where `txid` is the id of the inserting
transaction (`StockMovement.txid`, a database default, so no writer can forget it), and serves only
positions below the stable horizon `pg_snapshot_xmin(pg_current_snapshot())`: every transaction
with a smaller id has finished, so no row can ever appear below a position already served.

On SQLite, writers are serialized (`BEGIN IMMEDIATE`): the id order is the commit order, `txid`
is a constant 0 and the horizon is unbounded, so the position is the id alone.
"""

from django.db.models import BigIntegerField, Expression, Q, Subquery, Value
from django.db.models.functions import Coalesce

# No transaction id reaches it: "no horizon" where writers are serialized.
UNBOUNDED = 2**63 - 1


class TransactionId(Expression):
    """The inserting transaction's id as a bigint (PostgreSQL); 0 where writers are serialized."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection):
        return "0", []

    def as_postgresql(self, compiler, connection):
        # xid8 has no cast to bigint; the text form is its 64-bit value (epoch included, never wraps).
        # Inside a savepoint it is still the top-level transaction's id, the one snapshots list.
        return "(pg_current_xact_id()::text::bigint)", []


class StableHorizon(Expression):
    """The smallest transaction id still running when this statement's snapshot was taken."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection):
        return str(UNBOUNDED), []

    def as_postgresql(self, compiler, connection):
        # A scalar subquery: evaluated once per statement, from the statement's own snapshot.
        return "(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)", []


def rows_after(queryset, movement_id: int):
    """The rows of `queryset` whose position follows movement `movement_id`, below the stable horizon.

    The anchor is the movement with the largest id ≤ `movement_id` (the client's last row; `0`, or an
    id before the first row, is the start of the feed). One statement: the anchor is a subquery.
    """
    model = queryset.model
    anchor = model._base_manager.filter(pk__lte=movement_id).order_by("-pk").values("txid")[:1]
    txid = Coalesce(Subquery(anchor), Value(-1))
    # `txid >= t` first gives the (txid, id) index a range start; then (txid, id) > (t, X).
    return queryset.filter(txid__gte=txid, txid__lt=StableHorizon()).filter(Q(txid__gt=txid) | Q(pk__gt=movement_id))


FEED_ORDER = ("txid", "id")
