"""A worker killed with -9 in the middle of sending an alert e-mail: another worker delivers it after the lease.

Real processes on PostgreSQL: two `manage.py db_worker` subprocesses on the test database, an aiosmtpd
server in this process whose first delivery hangs (the first worker is killed while it waits for the
reply). The lease is 3 seconds, so the test takes a few seconds.
"""

import asyncio
import email
import threading
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django_tasks_db.models import DBTaskResult

from core.testing import WorkerProcess
from inventory.models import LowStockAlert
from inventory.tests.test_alerts_worker import free_port, open_alert

LEASE_SECONDS = 3
EMAIL_TASK = "inventory.alert_emails.send_low_stock_alert_email"
TIMEOUT = 60


class HangingMailbox:
    """An SMTP handler whose first DATA hangs before the reply; `accept_first` keeps that copy regardless.

    `accept_first=True` is a server that has queued the message when the client dies before reading
    the "250" (the duplicate window); `False`, one that drops a transaction its client abandoned.
    """

    def __init__(self, accept_first: bool):
        self.accept_first = accept_first
        self.messages, self.arrivals = [], 0
        self.first_arrived = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.arrivals += 1
            first = self.arrivals == 1
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        if first:
            if self.accept_first:
                self.messages.append(message)
            self.first_arrived.set()
            await asyncio.sleep(10 * TIMEOUT)  # the client is killed meanwhile; never answers
            return "451 4.3.0 too late"
        self.messages.append(message)
        return "250 OK"


class Worker(WorkerProcess):
    """`manage.py db_worker` in a subprocess against the test database, e-mailing to `smtp_port`."""

    def __init__(self, name: str, smtp_port: int, log_dir: Path):
        super().__init__(name, log_dir, EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                         EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port), EMAIL_TIMEOUT="30",
                         LOW_STOCK_EMAIL_LEASE_SECONDS=str(LEASE_SECONDS))


def task_rows() -> list:
    return list(DBTaskResult.objects.order_by("enqueued_at").values_list("task_path", "status", "run_after"))


def wait_until(predicate, what: str, worker: Worker, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, (f"timed out waiting until {what}; tasks: {task_rows()}; "
                                             f"the worker logged:\n{worker.log}")
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("accept_first", "copies"), [(False, 1), (True, 2)], ids=["not-accepted", "accepted"])
def test_an_email_whose_worker_was_killed_mid_send_is_delivered_by_another_worker_after_the_lease(
        world, tmp_path, settings, accept_first, copies):
    settings.LOW_STOCK_EMAIL_LEASE_SECONDS = LEASE_SECONDS  # this process opens the alert, the workers send it
    mailbox = HangingMailbox(accept_first)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    workers = []
    try:
        alert = open_alert(world)
        first = Worker("first", port, tmp_path)
        workers.append(first)
        assert mailbox.first_arrived.wait(TIMEOUT), first.log
        first.kill()  # kill -9 while it waits for the server's reply
        killed_at = time.monotonic()

        alert.refresh_from_db()
        assert (alert.email_status, alert.email_attempts) == (LowStockAlert.EmailStatus.QUEUED, 1)
        assert alert.email_claimed_at is not None
        attempt1 = DBTaskResult.objects.get(task_path=EMAIL_TASK, args_kwargs__kwargs__attempt=1)
        assert (attempt1.status, attempt1.worker_ids) == ("RUNNING", ["first"])  # and would stay so forever

        second = Worker("second", port, tmp_path)
        workers.append(second)
        wait_until(lambda: LowStockAlert.objects.get(pk=alert.pk).email_status == "sent", "the e-mail is sent", second)
        assert time.monotonic() - killed_at < LEASE_SECONDS + 15  # taken over soon after the lease, not by hand
        # The second attempt's own watchdog runs at the end of its lease and finds nothing to do. (Only the
        # e-mail tasks: a starting worker also queues the dashboards' day closing, which waits for tomorrow.)
        wait_until(lambda: not DBTaskResult.objects.filter(task_path__startswith="inventory.alert_emails.",
                                                           status__in=["READY", "RUNNING"]).exists(),
                   "every e-mail task ran", second)

        # Exactly once when the server had not accepted the killed worker's copy; twice when it had (the
        # duplicate window: accepted, then the worker died before recording it).
        assert len(mailbox.messages) == copies
        assert all(message["Subject"] == "Low stock: BOLT-1 in A (2 below threshold 5)" for message in mailbox.messages)
        alert.refresh_from_db()
        assert (alert.email_status, alert.email_attempts, alert.email_claimed_at) == ("sent", 2, None)
        attempt1.refresh_from_db()
        assert (attempt1.status, attempt1.exception_class_path) == ("FAILED", "inventory.alert_emails.WorkerLost")
        attempt2 = DBTaskResult.objects.get(task_path=EMAIL_TASK, args_kwargs__kwargs__attempt=2)
        assert (attempt2.status, attempt2.worker_ids) == ("SUCCESSFUL", ["second"])
        watchdogs = DBTaskResult.objects.filter(task_path="inventory.alert_emails.reclaim_lost_email_attempts")
        # How many watchdog runs there were depends on timing; exactly one of them took the attempt over.
        runs = list(watchdogs.values_list("status", "return_value"))
        assert {status for status, _ in runs} == {"SUCCESSFUL"} and sum(taken for _, taken in runs) == 1, runs
    finally:
        for worker in workers:
            worker.stop()
        controller.stop()
