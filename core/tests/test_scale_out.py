"""Scale-out on one machine (issue 15, 5a): two gunicorn instances and two `db_worker` processes on one database.

The hot-row scenario split across both servers: N pending purchase requests of 1 unit on one stock row
holding N/2, approved concurrently through either instance. Still exact: N/2 approved, N/2 refused with
`insufficient_stock`, the ledger consistent, and the low-stock alert the approvals open e-mailed exactly
once although two workers poll the same task table. PostgreSQL only (the processes share the test
database, which SQLite's test database cannot be); bounded to a few seconds.
"""

import subprocess
import sys
import threading
import time
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from core.testing import database_url
from core.tests.test_gunicorn import BASE_DIR, Server, free_port, server_environment
from inventory.models import LowStockAlert, Stock
from inventory.tests.factories import StockFactory, ThresholdFactory
from inventory.tests.test_alerts_worker import Mailbox
from warehouses.tests.factories import WarehouseFactory
from workflows.models import PurchaseRequest
from workflows.tests.factories import PurchaseRequestFactory

pytestmark = [pytest.mark.postgres, pytest.mark.heavy, pytest.mark.django_db(transaction=True)]

N = 40
CLIENTS = 8


@pytest.fixture
def mailbox():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that both workers deliver to."""
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def processes():
    """Servers and workers started by the test, stopped (by their own handles, in parallel) at its end."""
    started = []
    yield started

    def stop(item):
        if isinstance(item, Server):
            item.stop()
            return
        item.terminate()
        try:
            item.wait(timeout=10)
        except subprocess.TimeoutExpired:
            item.kill()
            item.wait()

    stoppers = [threading.Thread(target=stop, args=(item,)) for item in started]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()


def test_two_instances_and_two_workers_stay_exact_on_one_hot_row(processes, mailbox, tmp_path):
    manager = UserFactory(manager=True, email="manager@example.com")
    warehouse = WarehouseFactory(manager=manager)
    stock = StockFactory(warehouse=warehouse, quantity=N // 2)
    ThresholdFactory(warehouse=warehouse, product=stock.product, threshold=5)
    deciders = [UserFactory(staff=True, warehouse=warehouse) for _ in range(2)]
    requests = [PurchaseRequestFactory(warehouse=warehouse, product=stock.product).pk for _ in range(N)]

    env = server_environment(
        database_url(), SECRET_KEY=settings.SECRET_KEY,  # the tokens below are signed with this key
        WEB_CONCURRENCY="2", GUNICORN_THREADS="2", LOG_DIR=str(tmp_path),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(mailbox.port), EMAIL_TIMEOUT="10")
    worker_env = {key: value for key, value in env.items() if key != "LOG_DIR"}
    for name in ("a", "b"):
        processes.append(subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2",
             "--worker-id", f"scale-out-{name}"],
            cwd=BASE_DIR, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    servers: list[Server] = []
    starters = [threading.Thread(target=lambda: servers.append(Server(env))) for _ in range(2)]
    for starter in starters:  # both boot at once: the test waits for the slower, not the sum
        starter.start()
    for starter in starters:
        starter.join()
    processes.extend(servers)
    assert len(servers) == 2, "a gunicorn instance did not start (see the failure above)"

    tokens = [str(AccessToken.for_user(user)) for user in deciders]
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def client(index: int):
        server, token = servers[index % 2], tokens[index % 2]
        for request_id in requests[index::CLIENTS]:
            status, _headers, body = server.request(
                "POST", "/api/purchase-requests/approve/",
                body=f'{{"id": {request_id}, "decision": "approve"}}',
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            with lock:
                outcomes.append((status, body.decode()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(status for status, _body in outcomes)
    assert statuses == [200] * (N // 2) + [409] * (N // 2), outcomes
    assert all('"insufficient_stock"' in body for status, body in outcomes if status == 409)
    # Both instances answered: each one's access log names the approvals it served.
    for server in servers:
        assert "/api/purchase-requests/approve/" in server.log

    assert PurchaseRequest.objects.filter(status="approved").count() == N // 2
    assert Stock.objects.get(pk=stock.pk).quantity == 0
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert "0 mismatches" in out.getvalue()

    alerts = list(LowStockAlert.objects.all())
    assert len(alerts) == 1  # one crossing below the threshold: one alert
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
            a.email_status == LowStockAlert.EmailStatus.SENT for a in LowStockAlert.objects.all()):
        time.sleep(0.2)
    time.sleep(1)  # a duplicate delivery by the second worker would land now
    assert [a.email_status for a in LowStockAlert.objects.all()] == [LowStockAlert.EmailStatus.SENT]
    assert len(mailbox.messages) == len(alerts), mailbox.messages
    assert "manager@example.com" in mailbox.messages[0][0]
