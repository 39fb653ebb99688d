"""Serializing "is a run already queued?" checks of self-rescheduling tasks across transactions."""

from django.db import connection


def serialize_scheduling(key: int) -> None:
    """Hold a transaction-level advisory lock on `key` until the caller's transaction ends.

    PostgreSQL only (`pg_advisory_xact_lock`); on SQLite write transactions are already serialized.
    Each kind of schedule uses its own constant key, unique in the database.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
