"""`manage.py db_worker` reconnects with back-off when its database connection is lost (core/worker.py).

In-process and quick; the end-to-end proof with real processes and a restarted database is
core/tests/test_database_restart.py.
"""

import logging
import signal
from unittest import mock

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import OperationalError, connection
from django_tasks import task
from django_tasks_db.management.commands.db_worker import Command as LibraryCommand
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from core import worker as worker_module
from core.worker import MAX_DELAY, ReconnectingWorker, backoff

pytestmark = pytest.mark.django_db(transaction=True)

runs = {"cut_once": 0, "cut_always": 0}


@task()
def cut_once() -> str:
    """Ends its own database connection on its first run, as a restart in the middle of a task would."""
    runs["cut_once"] += 1
    if runs["cut_once"] == 1:
        end_own_connection()
    return "done"


@task()
def cut_always() -> str:
    runs["cut_always"] += 1
    end_own_connection()
    return "never"


def end_own_connection():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def run_worker(*args: str):
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", *args, verbosity=0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch):
    monkeypatch.setattr(worker_module, "FIRST_DELAY", 0.01)
    runs.update(cut_once=0, cut_always=0)


def test_db_worker_is_the_reconnecting_subclass_with_the_librarys_options():
    assert get_commands()["db_worker"] == "core"
    command = load_command_class("core", "db_worker")
    assert isinstance(command, LibraryCommand)

    def options(cmd):
        return sorted(action.dest for action in cmd.create_parser("manage.py", "db_worker")._actions)

    assert options(command) == options(LibraryCommand())


def test_the_backoff_doubles_from_half_a_second_up_to_thirty(monkeypatch):
    monkeypatch.setattr(worker_module, "FIRST_DELAY", 0.5)  # the production value (the fixture shortens it)
    delays, delay = [], None
    for _ in range(9):
        delay = backoff(delay)
        delays.append(delay)
    assert delays == [0.5, 1, 2, 4, 8, 16, MAX_DELAY, MAX_DELAY, MAX_DELAY] and MAX_DELAY == 30


def fail_once(original):
    """get_locked() that fails once, with what a dead connection raises."""
    calls = []

    def get_locked(queryset):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return original(queryset)

    return get_locked


def test_a_lost_connection_while_polling_is_logged_and_the_loop_goes_on(caplog):
    result = cut_once.enqueue()
    runs["cut_once"] = 1  # this run keeps its connection; the poll before it is what loses one
    with (caplog.at_level(logging.WARNING, logger="core.worker"),
          mock.patch.object(DBTaskResultQuerySet, "get_locked", fail_once(DBTaskResultQuerySet.get_locked)),
          mock.patch.object(ReconnectingWorker, "connection_lost", side_effect=[True]) as connection_lost):
        run_worker()

    assert connection_lost.call_count == 1
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
    messages = [record.getMessage() for record in caplog.records if record.name == "core.worker"]
    assert len(messages) == 2, messages
    assert "lost its database connection (OperationalError: terminating connection" in messages[0]
    assert "reconnected to the database" in messages[1]


def test_an_error_the_connection_survives_still_ends_the_worker():
    cut_once.enqueue()
    with mock.patch.object(DBTaskResultQuerySet, "get_locked", side_effect=OperationalError("disk full")):
        with pytest.raises(OperationalError, match="disk full"):
            run_worker()


@pytest.mark.postgres
def test_a_task_cut_short_by_a_lost_connection_runs_again_after_the_reconnect(caplog):
    result = cut_once.enqueue()
    with caplog.at_level(logging.WARNING, logger="core.worker"):
        run_worker("--worker-id", "w1")

    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.return_value, row.worker_ids) == ("SUCCESSFUL", "done", ["w1", "w1"])
    assert runs["cut_once"] == 2
    messages = [record.getMessage() for record in caplog.records if record.name == "core.worker"]
    # The task's own query failed first; what reaches the loop is recording that failure on the dead connection.
    assert "lost its database connection (OperationalError: the connection is closed)" in messages[0]
    assert "reconnected to the database" in messages[1]
    assert messages[2] == f"task {result.id} (core.tests.test_worker_reconnect.cut_once) was cut short by the " \
                          "lost database connection; queued again"


@pytest.mark.postgres
def test_a_task_that_keeps_losing_its_connection_is_recorded_as_failed_after_three_runs(caplog):
    result = cut_always.enqueue()
    with caplog.at_level(logging.WARNING, logger="core.worker"):
        run_worker("--worker-id", "w1")

    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.exception_class_path) == ("FAILED", "django.db.utils.OperationalError")
    assert "terminating connection due to administrator command" in row.traceback
    assert runs["cut_always"] == 3 and row.worker_ids == ["w1"] * 3
    assert any("cut short by a lost database connection 3 times; recorded as failed" in record.getMessage()
               for record in caplog.records)


@task()
def say_hello() -> str:
    logging.getLogger("core.tests.tasks").info("hello from a task")
    return "hello"


def test_every_log_line_of_a_task_carries_the_tasks_id(caplog):
    from core.logs import RequestContext

    result = say_hello.enqueue()
    with caplog.at_level(logging.INFO, logger="core.tests.tasks"):
        run_worker()
    (record,) = [r for r in caplog.records if r.getMessage() == "hello from a task"]
    RequestContext().filter(record)  # what the configured handler does to every record
    assert record.request_id == f"task-{result.id}"
