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

from django.db.models import BigIntegerField, BooleanField, Expression, F, Subquery, Value
from django.db.models.functions import Coalesce

# No transaction id reaches it: "no horizon" where writers are serialized.
UNBOUNDED = 2**63 - 1


class TransactionId(Expression):
    """The inserting transaction's id as a bigint (PostgreSQL); 0 where writers are serialized."""

    output_field = BigIntegerField()
    allowed_default = True  # a column default (Django's check fields.E012 asks expressions to say so)

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


class RowGreaterThan(Expression):
    """`(a, b) > (c, d)`: a row comparison, which a (a, b) index answers with one range scan."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, left: tuple, right: tuple):
        super().__init__()
        self.operands = [*left, *right]

    def get_source_expressions(self):
        return self.operands

    def set_source_expressions(self, exprs):
        self.operands = list(exprs)

    def as_sql(self, compiler, connection):
        parts, params = [], []
        for operand in self.operands:
            sql, operand_params = compiler.compile(operand)
            parts.append(sql)
            params += operand_params
        return "({}, {}) > ({}, {})".format(*parts), params


def rows_after(queryset, movement_id: int):
    """The rows of `queryset` whose position follows movement `movement_id`, below the stable horizon.

    The anchor is the movement with the largest id ≤ `movement_id` (the client's last row; `0`, or an
    id before the first row, is the start of the feed). One statement: the anchor is a subquery.
    """
    model = queryset.model
    anchor = model._base_manager.filter(pk__lte=movement_id).order_by("-pk").values("txid")[:1]
    txid = Coalesce(Subquery(anchor), Value(-1))
    position_follows = RowGreaterThan((F("txid"), F("id")), (txid, Value(movement_id)))
    return queryset.filter(position_follows, txid__lt=StableHorizon())


FEED_ORDER = ("txid", "id")
