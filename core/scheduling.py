"""Self-rescheduling tasks: at most one queued run, moved earlier rather than joined by a second one."""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q


def serialize_scheduling(key: int) -> None:
    """Hold a transaction-level advisory lock on `key` until the caller's transaction ends.

    PostgreSQL only (`pg_advisory_xact_lock`); on SQLite write transactions are already serialized.
    Each kind of schedule uses its own constant key, unique in the database.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def ensure_scheduled(task, *, run_at: datetime, lock_key: int) -> bool:
    """Make sure a run of `task` is queued at or before `run_at`; return True if the schedule changed.

    A queued run that is later is moved to `run_at` rather than joined by a second one, so at most one
    instance waits. The check and the enqueue are serialized by the advisory lock `lock_key` and run in
    the caller's transaction (a rollback drops the new run with the work that asked for it).
    """
    from django_tasks_db.models import DBTaskResult, get_date_max

    with transaction.atomic():
        serialize_scheduling(lock_key)
        ready = DBTaskResult.objects.filter(task_path=task.module_path, status="READY")
        now_marker = get_date_max()  # django-tasks-db's run_after of a task enqueued to run at once
        if ready.filter(Q(run_after=now_marker) | Q(run_after__lte=run_at)).exists():
            return False
        if ready.filter(run_after__gt=run_at).exclude(run_after=now_marker).update(run_after=run_at):
            return True
        task.using(run_after=run_at).enqueue()
        return True
