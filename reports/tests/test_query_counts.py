"""The report runs a constant number of queries, whatever the number of movements."""

from datetime import UTC, datetime, timedelta

import pytest

from inventory.models import StockMovement
from inventory.tests.factories import ProductFactory
from workflows.tests.history import record_history

# authentication (1) + the staff member's warehouse (1) + max id, flows per stock, stock rows with opening (3)
# [+ the movement stream (1)]
URL = "/api/reports/stock-movements/"
QUERIES = {"json": 5, "csv": 6, "pdf": 6}


@pytest.mark.parametrize("movements", [10, 400])
@pytest.mark.parametrize("fmt", ["json", "csv", "pdf"])
def test_report_query_count_does_not_grow_with_the_ledger(world, django_assert_num_queries, movements, fmt,
                                                          make_client):
    start = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    per_product = movements // 10
    for product in [ProductFactory() for _ in range(10)]:
        record_history(warehouse=world.wh_a, product=product, actor=world.staff_a, entries=[
            (start + timedelta(seconds=i), 5 if i % 2 == 0 else -3, StockMovement.Kind.ADJUST, "count")
            for i in range(per_product)])
    client = make_client(world.staff_a)
    with django_assert_num_queries(QUERIES[fmt]):
        response = client.get(URL, {"format": fmt, "period": "weekly", "date": "2026-03-04"})
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    assert len(body) > 0
    if fmt == "csv":
        assert body.count(b"\n") == 1 + movements
