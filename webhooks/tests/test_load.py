"""Load: 1,000 stock changes from racing threads with 3 subscribed endpoints → 3,000 deliveries, delivered by
two workers at once to real receivers: none lost, none duplicated, `version`s gap-free per stock row."""

import json
import time
from collections import defaultdict

import pytest

from conftest import TEST_WEBHOOK_KEY as TEST_KEY
from core.testing import run_threads
from inventory.services import adjust_stock, assign_stock
from webhooks import services
from webhooks.delivery import deliver_all_due
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.receiver import start_receiver

CHANGES = 1000
WRITERS = 4


@pytest.mark.heavy
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_thousand_stock_changes_reach_three_endpoints_once_each_with_gap_free_versions(world, settings):
    settings.WEBHOOK_ENCRYPTION_KEYS = [TEST_KEY]
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ALLOW_HTTP_HOSTS = ["127.0.0.1"]
    rows = [(world.wh_a, world.product), (world.wh_a, world.product2), (world.wh_b, world.product)]
    # Enough on every row before anyone listens: a thread's `-1` may come before any `+2` on that row.
    for warehouse, product in rows:
        assign_stock(actor=world.admin, warehouse=warehouse, product=product, quantity=CHANGES)
    receivers = [start_receiver() for _ in range(3)]
    try:
        for receiver in receivers:
            services.create_endpoint(actor=world.admin, url=receiver.url, events=["stock.changed"])

        def write(index):
            for n in range(CHANGES // WRITERS):
                warehouse, product = rows[(index + n) % len(rows)]
                if n % 2 == 0:
                    assign_stock(actor=world.admin, warehouse=warehouse, product=product, quantity=2)
                else:
                    adjust_stock(actor=world.admin, warehouse=warehouse, product=product, delta=-1, reason="loss")

        started = time.monotonic()
        results = run_threads(WRITERS, write, timeout=300)
        assert all(result is None for result in results), results
        writes = time.monotonic() - started
        started = time.monotonic()
        assert WebhookEvent.objects.count() == CHANGES

        totals = run_threads(2, lambda index: deliver_all_due(), timeout=300)  # two workers at once
        print(f"\n{CHANGES} stock changes by {WRITERS} threads: {writes:.1f} s; {3 * CHANGES} deliveries by 2 "
              f"workers: {time.monotonic() - started:.1f} s")
        assert sum(t["delivered"] for t in totals) == 3 * CHANGES, totals
        assert WebhookDelivery.objects.filter(status="delivered").count() == 3 * CHANGES
        assert not WebhookDelivery.objects.exclude(status="delivered").exists()

        event_ids = set(WebhookEvent.objects.values_list("pk", flat=True))
        for receiver in receivers:
            ids = receiver.ids()
            assert len(ids) == CHANGES and set(ids) == event_ids  # none lost, none twice
            versions = defaultdict(list)
            for received in receiver.received:
                data = json.loads(received.body)["data"]
                versions[(data["warehouse"], data["product"])].append(data["version"])
            for row, seen in versions.items():
                seen.sort()
                assert seen == list(range(seen[0], seen[0] + len(seen))), f"a gap in the versions of {row}"
    finally:
        for receiver in receivers:
            receiver.server.shutdown()
            receiver.server.server_close()
