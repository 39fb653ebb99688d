"""Tests of the change feed on PostgreSQL wait for the stable horizon to pass the rows they wrote.

The horizon is the oldest transaction still running anywhere in the cluster (transaction ids are
cluster-wide), so another database's open transaction can hold it back for a moment.
"""

import time

from django.db import connection

from inventory.models import StockMovement

# Generous: in CI nothing else runs, but a developer's other test run on the same server can hold a
# transaction open for a while (the feed's latency is the longest transaction in the cluster).
HORIZON_TIMEOUT = 120.0


def wait_for_horizon(timeout: float = HORIZON_TIMEOUT) -> None:
    """Return once every committed movement is below the horizon (at once on SQLite)."""
    if connection.vendor != "postgresql":
        return
    newest = StockMovement.objects.order_by("-txid").values_list("txid", flat=True).first()
    if newest is None:
        return
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            (horizon,) = cursor.fetchone()
        if horizon > newest:
            return
        assert time.monotonic() < deadline, f"the horizon stayed at {horizon} (newest row's txid {newest})"
        time.sleep(0.05)
