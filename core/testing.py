"""Helpers for tests that race real threads on a real database, each thread on its own connection."""

import threading

from django.db import connection

from core.errors import DomainError

TIMEOUT = 60


def run_threads(count: int, work, *, timeout: float = TIMEOUT) -> list:
    """Run `work(index)` in `count` threads released together; return each result or exception by index."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index):
        try:
            barrier.wait(timeout=timeout)
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 - the test inspects every outcome
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def outcomes(results: list) -> list[tuple[str, object]]:
    """`("ok", value)` or `("error", code)` per result; any exception that is not a DomainError is re-raised."""
    shaped = []
    for result in results:
        if isinstance(result, DomainError):
            shaped.append(("error", result.code))
        elif isinstance(result, BaseException):
            raise result
        else:
            shaped.append(("ok", result))
    return shaped
