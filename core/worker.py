"""The background worker that outlives its database connection (`manage.py db_worker`, see docs/DEPLOY.md).

django-tasks-db's worker loop dies on the first `OperationalError` that is not "database is locked": a
database restart or failover that ends its connection while it polls (or the database refusing
connections for a moment) stopped alert e-mails, reservation expiry and password-reset e-mails until
someone restarted the process. `ReconnectingWorker` runs the library's loop unchanged and, when it
ends with an error *and the connection is gone*, closes the connections, waits (back-off: 0.5 s,
doubling, at most 30 s, ±20 % jitter), reconnects, logs each attempt, and runs the loop again. An
error on a connection that still works (a bug, a missing table) ends the worker as before.

A task whose run was cut short by the lost connection (its row would stay `RUNNING` forever) is put
back in the queue, at most `MAX_INTERRUPTIONS` times, then recorded as failed with the connection error.
Our tasks are written to be run again (alert e-mails claim each attempt, expiry is idempotent, a second
password-reset link is harmless); a task that had finished just before the connection went may run twice.
"""

import logging
import random
import time
from dataclasses import dataclass

from django.db import DatabaseError, InterfaceError, OperationalError, connections, router
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from core import logs
from core.events import Event

logger = logging.getLogger("core.worker")

FIRST_DELAY = 0.5  # seconds before the first reconnect attempt
MAX_DELAY = 30.0  # the back-off doubles up to this
HEALTHY_AFTER = 60.0  # a connection that held this long starts the next outage's back-off afresh
MAX_INTERRUPTIONS = 3  # runs of one task cut short by a lost connection before it is recorded as failed
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def backoff(previous: float | None) -> float:
    """The next wait of the reconnect back-off: FIRST_DELAY, then doubling up to MAX_DELAY."""
    return FIRST_DELAY if previous is None else min(MAX_DELAY, previous * 2)


def jittered(delay: float) -> float:
    """±20 %, so that several workers cut off together do not reconnect in step."""
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - not for security


def describe(exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"


class ReconnectingWorker(Worker):
    """django-tasks-db's `Worker`, whose loop survives the loss of its database connection."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.database = router.db_for_write(DBTaskResult)
        self.current_task: DBTaskResult | None = None
        self.lost_with: BaseException | None = None
        self.interruptions: dict = {}
        self.delay: float | None = None  # the back-off's last wait, None when the connection is healthy
        self.reconnected_at = 0.0

    def run(self) -> None:
        while True:
            try:
                self.requeue_interrupted_task()
                return super().run()
            except CONNECTION_ERRORS as exc:
                if not self.running or not self.connection_lost():
                    raise  # shutting down, or an error the connection survived: not ours to hide
                self.lost_with = exc
                self.reconnect(exc)
                self.startup_delay = False  # the random start-up delay was for the first start only

    def run_task(self, db_task_result: DBTaskResult) -> None:
        # The library records the outcome itself; if recording fails because the connection is gone,
        # the exception leaves run_task with current_task still set, for requeue_interrupted_task().
        self.current_task = db_task_result
        # Every log line of the task (the library's and the task's own) carries the task's id, as a
        # request's lines carry the request's (`core.logs`).
        token = logs.request_id.set(f"task-{db_task_result.id}")
        try:
            super().run_task(db_task_result)
        finally:
            logs.request_id.reset(token)
        self.current_task = None

    def connection_lost(self) -> bool:
        connection = connections[self.database]
        return connection.connection is None or not connection.is_usable()

    def close_connections(self) -> None:
        for connection in connections.all(initialized_only=True):
            try:
                connection.close()
            except DatabaseError:
                connection.connection = None  # closing a broken connection may fail; drop it regardless

    def reconnect(self, exc: BaseException) -> None:
        """Wait with back-off until the task database answers again; log every attempt."""
        if time.monotonic() - self.reconnected_at > HEALTHY_AFTER:
            self.delay = None  # the last outage is long over: start with the shortest wait
        lost_at = time.monotonic()
        self.delay = backoff(self.delay)
        logger.warning("worker %s lost its database connection (%s); reconnecting in %.1f s",
                       self.worker_id, describe(exc), self.delay)
        attempt = 0
        while True:
            self.close_connections()
            time.sleep(jittered(self.delay))  # SIGTERM/SIGINT meanwhile: the library's handler exits
            attempt += 1
            try:
                connections[self.database].ensure_connection()
            except CONNECTION_ERRORS as error:
                self.delay = backoff(self.delay)
                logger.warning("worker %s: reconnect attempt %d failed (%s); next attempt in %.1f s",
                               self.worker_id, attempt, describe(error), self.delay)
                continue
            self.reconnected_at = time.monotonic()
            logger.warning("worker %s reconnected to the database after %.1f s (attempt %d)",
                           self.worker_id, self.reconnected_at - lost_at, attempt)
            return

    def requeue_interrupted_task(self) -> None:
        """After a reconnect: put back the task whose run the lost connection cut short (still RUNNING)."""
        task = self.current_task
        if task is None:
            return
        count = self.interruptions.get(task.pk, 0) + 1
        running = DBTaskResult.objects.filter(pk=task.pk, status="RUNNING")
        if count >= MAX_INTERRUPTIONS:
            if running.exists():
                task.set_failed(self.lost_with)
                logger.error("task %s (%s) was cut short by a lost database connection %d times; recorded as "
                             "failed", task.pk, task.task_path, count)
        elif running.update(status="READY"):
            logger.warning("task %s (%s) was cut short by the lost database connection; queued again",
                           task.pk, task.task_path)
        self.interruptions[task.pk] = count
        self.current_task = None


@dataclass(frozen=True)
class WorkerStarted(Event):
    """A worker is starting: apps whose self-rescheduling tasks must be running make sure they are queued."""
