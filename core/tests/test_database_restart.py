"""A database restart costs no request and no task (issue 23, item 5).

Run as docs/DEPLOY.md recommends: gunicorn with the shipped gunicorn.conf.py and `DB_CONN_MAX_AGE=60`
(every gunicorn thread keeps its connection), and a polling `manage.py db_worker`, both against the test
database. Then a restart, as a failover or a minor-version upgrade does it: every backend of the test
database is ended with `pg_terminate_backend` and, for a moment, the database refuses new connections
(`ALLOW_CONNECTIONS false`, what a server that is shutting down or starting up answers). Only this test's
own controlling connection survives; no other database on the server is touched.

Before the fix each gunicorn thread answered its next request with a 500 (its connection was dead) and
the worker's loop died with OperationalError out of `get_locked()`, so the next alert e-mail never went
out. Now: no 5xx under the load after the restart, the worker logs its reconnect, and the next alert
e-mail arrives within the usual polling time. Requests that arrive while the database is down cannot
succeed and are not sent: the load pauses (its requests in flight finish) for the restart itself.
PostgreSQL only; a few seconds of real processes.
"""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from core.testing import database_url
from core.tests.test_gunicorn import BASE_DIR, Server, free_port, server_environment
from inventory.services import assign_stock
from inventory.tests.factories import ThresholdFactory
from inventory.tests.test_alerts_worker import Mailbox

pytestmark = [pytest.mark.postgres, pytest.mark.heavy, pytest.mark.django_db(transaction=True)]

CLIENTS = 8  # = WEB_CONCURRENCY 2 × GUNICORN_THREADS 4: every thread gets used, so every thread holds a connection
DOWNTIME = 2.0  # seconds the database refuses connections: longer than the worker's 1-second poll
USUAL_EMAIL_SECONDS = 5.0  # poll interval (1 s) + the send, with room for a busy CI machine


def others_backends() -> list[int]:
    """Backends of the test database other than this test's own connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return [pid for (pid,) in cursor.fetchall()]


class Restart:
    """End every other connection to the test database and refuse new ones until `back()`.

    Driven from a connection to the maintenance database `postgres` (a database cannot refuse connections
    while the session changing that is in it); this test's own connection to the test database is spared.
    """

    def __init__(self):
        import psycopg

        db = connection.settings_dict
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), pg_backend_pid()")
            self.name, self.own_pid = cursor.fetchone()
        self.admin = psycopg.connect(dbname="postgres", user=db["USER"], password=db["PASSWORD"] or None,
                                     host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, autocommit=True)
        self.refusing = False

    def _allow(self, allow: bool) -> None:
        name = self.name.replace('"', '""')
        self.admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allow else "false"}')
        self.refusing = not allow

    def down(self) -> int:
        self._allow(False)
        (ended,) = self.admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            [self.name, self.own_pid]).fetchone()
        deadline = time.monotonic() + 10
        while others_backends():  # pg_terminate_backend only signals; wait until they are gone
            assert time.monotonic() < deadline, "backends survived pg_terminate_backend"
            time.sleep(0.05)
        return ended

    def back(self) -> None:
        if self.refusing:
            self._allow(True)

    def close(self) -> None:
        self.back()
        self.admin.close()


@pytest.fixture
def restart():
    restart = Restart()
    yield restart
    restart.close()  # whatever happened, the test database accepts connections again


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


class Load:
    """CLIENTS threads sending authenticated GETs that use the database; `pause()` lets their requests finish."""

    def __init__(self, server: Server, token: str):
        self.server, self.token = server, token
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.go = threading.Event()
        self.stopping = False
        self.idle = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        for thread in self.threads:
            thread.start()

    def client(self):
        while True:
            self.go.wait()
            if self.stopping:
                return
            status, _headers, body = self.server.request(
                "GET", "/api/stocks/?page_size=5", headers={"Authorization": f"Bearer {self.token}"})
            with self.lock:
                self.statuses.append(status)
                if status >= 500:
                    self.failures.append(body.decode(errors="replace")[:300])
            if not self.go.is_set():  # paused: say so once, then wait for the next run
                self.idle.release()

    def run(self, seconds: float) -> list[int]:
        """Send requests for `seconds`; return their statuses."""
        start = len(self.statuses)
        self.go.set()
        time.sleep(seconds)
        self.pause()
        return self.statuses[start:]

    def pause(self):
        self.go.clear()
        for _ in self.threads:  # every client has finished its request in flight
            assert self.idle.acquire(timeout=30), "a client's request did not finish"

    def stop(self):
        self.stopping = True
        self.go.set()
        for thread in self.threads:
            thread.join(15)


class Worker:
    """`manage.py db_worker` as DEPLOY.md runs it (no options), its output in a file."""

    def __init__(self, env: dict, log_path: Path):
        self.log_path = log_path
        self.log_file = log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "manage.py", "db_worker", "--no-reload"], cwd=BASE_DIR,
                                        env=env, stdout=self.log_file, stderr=subprocess.STDOUT)

    @property
    def log(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def adjust(server: Server, token: str, warehouse, product) -> int:
    """Take 8 of the 10 units (threshold 5): the change opens an alert and queues its e-mail."""
    body = f'{{"warehouse": {warehouse.pk}, "product": {product.pk}, "delta": -8, "reason": "loss"}}'
    return server.request("POST", "/api/stocks/adjust/", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})[0]


def seconds_until_mailed(mailbox: Mailbox, sku: str, worker: Worker, timeout: float = 30) -> float:
    started = time.monotonic()
    while not any(sku in message["Subject"] for _rcpt, message in mailbox.messages):
        if time.monotonic() - started > timeout or worker.process.poll() is not None:
            return float("inf")
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_database_restart_costs_no_request_and_no_task(world, tmp_path, mailbox, restart):
    for product in (world.product, world.product2):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=10)
        ThresholdFactory(product=product, warehouse=world.wh_a, threshold=5)
    env = server_environment(
        database_url(), SECRET_KEY=settings.SECRET_KEY,  # the tokens below are signed with this key
        DB_CONN_MAX_AGE="60", WEB_CONCURRENCY="2", GUNICORN_THREADS="4",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(mailbox.port), EMAIL_TIMEOUT="10")
    worker = Worker(env, tmp_path / "worker.log")
    server = Server({**env, "LOG_DIR": str(tmp_path)})
    load = Load(server, str(AccessToken.for_user(world.viewer)))
    staff_token = str(AccessToken.for_user(world.staff_a))
    try:
        before = load.run(1.0)
        assert before and set(before) == {200}, load.failures
        held = len(others_backends())
        assert held >= 4, f"only {held} persistent connections: nothing to prove"  # web threads + the worker

        assert adjust(server, staff_token, world.wh_a, world.product) == 200
        usual = seconds_until_mailed(mailbox, world.product.sku, worker)
        assert usual < USUAL_EMAIL_SECONDS, f"no e-mail before the restart:\n{worker.log}"

        ended = restart.down()
        time.sleep(DOWNTIME)  # the worker polls meanwhile, and finds no database
        restart.back()

        after = load.run(1.0)
        assert adjust(server, staff_token, world.wh_a, world.product2) == 200
        next_email = seconds_until_mailed(mailbox, world.product2.sku, worker)
        print(f"\n{held} persistent connections, {ended} ended; {len(before)} requests before, {len(after)} after "
              f"(statuses {sorted(set(after))}); alert e-mail {usual:.2f} s before the restart, "
              f"{next_email:.2f} s after; the worker logged:")
        print("\n".join(line for line in worker.log.splitlines() if "core.worker" in line))

        assert [status for status in after if status >= 500] == [], load.failures[:3]
        assert len(after) >= CLIENTS
        assert worker.process.poll() is None, f"the worker exited:\n{worker.log}"
        assert next_email < USUAL_EMAIL_SECONDS, f"no alert e-mail after the restart:\n{worker.log}"
        assert "reconnected to the database" in worker.log, worker.log
    finally:
        restart.back()
        load.stop()
        server.stop()
        worker.stop()
