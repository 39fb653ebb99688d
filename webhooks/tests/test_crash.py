"""A worker killed with -9 while it waits on a receiver that hangs: another worker delivers after the lease.

Real processes on PostgreSQL: two `manage.py db_worker` subprocesses on the test database and a receiver on
loopback in this process whose first request never gets an answer. The lease is 4 seconds.
"""

import time
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook

from conftest import TEST_WEBHOOK_KEY as TEST_KEY
from core.testing import WorkerProcess
from inventory import services as stock_services
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.receiver import start_receiver

LEASE_SECONDS = 4
TIMEOUT = 60


class Worker(WorkerProcess):
    """`manage.py db_worker` in a subprocess against the test database, delivering to loopback."""

    def __init__(self, name: str, log_dir: Path):
        super().__init__(name, log_dir, WEBHOOK_ENCRYPTION_KEYS=TEST_KEY, WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",
                         WEBHOOK_ALLOW_HTTP_HOSTS="127.0.0.1", WEBHOOK_LEASE_SECONDS=str(LEASE_SECONDS))


def wait_until(predicate, what: str, worker: Worker, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        tasks = list(DBTaskResult.objects.values_list("task_path", "status", "run_after"))
        assert time.monotonic() < deadline, f"timed out waiting until {what}; tasks: {tasks}; log:\n{worker.log}"
        time.sleep(0.05)


@pytest.mark.heavy
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_worker_was_killed_mid_request_is_delivered_by_another_worker_after_the_lease(
        world, tmp_path, settings):
    settings.WEBHOOK_ENCRYPTION_KEYS = [TEST_KEY]
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ALLOW_HTTP_HOSTS = ["127.0.0.1"]
    receiver = start_receiver(hang_first=True)
    workers = []
    try:
        endpoint, secret = services.create_endpoint(actor=world.admin, url=receiver.url, events=["stock.changed"])
        stock_services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
        first = Worker("first", tmp_path)
        workers.append(first)
        assert receiver.first_arrived.wait(TIMEOUT), first.log
        first.kill()  # kill -9 while it waits for the receiver's answer
        killed_at = time.monotonic()

        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 1) and delivery.leased_until is not None

        second = Worker("second", tmp_path)
        workers.append(second)
        wait_until(lambda: WebhookDelivery.objects.get().status == "delivered", "the event is delivered", second)
        assert time.monotonic() - killed_at < LEASE_SECONDS + 15  # taken over soon after the lease, not by hand
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code, delivery.leased_until) == (2, 200, None)
        # The receiver saw the event twice with one webhook-id (the duplicate window: it had the first request
        # when the worker died), so its de-duplication holds.
        event = WebhookEvent.objects.get()
        assert receiver.ids() == [event.pk, event.pk]
        for received in receiver.received:
            Webhook(secret).verify(received.body, received.headers)
    finally:
        receiver.release.set()
        for worker in workers:
            worker.stop()
        receiver.server.shutdown()
        receiver.server.server_close()
