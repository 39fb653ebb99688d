"""`manage.py db_worker`: django-tasks-db's worker, same options and behaviour, that survives a database restart.

This command takes the library's name because `core` is listed before `django_tasks_db` in INSTALLED_APPS,
so operators keep running `manage.py db_worker` (README, docs/DEPLOY.md). The reconnect logic and its
back-off are in `core.worker`.
"""

import logging

from django.db import DatabaseError, transaction
from django_tasks_db.management.commands import db_worker as library

from core.events import emit
from core.worker import ReconnectingWorker, WorkerStarted

logger = logging.getLogger("core.worker")


class Command(library.Command):
    help = "Run a database background worker (reconnects with back-off when the database goes away)"

    def handle(self, *args, **options) -> None:
        try:  # the apps queue their self-rescheduling tasks (closing days, ...) if none is waiting
            with transaction.atomic():
                emit(WorkerStarted())
        except DatabaseError as exc:  # the database is not there yet: the loop reconnects, the next start retries
            logger.warning("could not announce the worker's start: %s", exc)
        # The library's handle() builds its worker by the module-level name `Worker`; for this run it
        # gets ours (a subclass: same constructor and options), so every option keeps its meaning.
        original = library.Worker
        library.Worker = ReconnectingWorker
        try:
            super().handle(*args, **options)
        finally:
            library.Worker = original
