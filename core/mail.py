"""Retries of e-mail tasks, shared by every e-mail the worker sends (alerts, password resets, notices).

Django's task API has no automatic retry, so a task that fails to send (an SMTP or network error,
`OSError`) enqueues its own next attempt after a back-off, up to a number of attempts. Settings
(optional; named for the alerts, which came first, and used by every e-mail):
`LOW_STOCK_EMAIL_MAX_ATTEMPTS` (6), `LOW_STOCK_EMAIL_RETRY_BASE_SECONDS` (30: 30 s, 60 s, 120 s, ...),
`LOW_STOCK_EMAIL_RETRY_MAX_SECONDS` (1800).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_RETRY_BASE_SECONDS = 30
DEFAULT_RETRY_MAX_SECONDS = 30 * 60


def max_attempts() -> int:
    return max(1, int(getattr(settings, "LOW_STOCK_EMAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def retry_delay(attempt: int) -> timedelta:
    """The wait before the attempt after `attempt`: base × 2^(attempt-1), capped."""
    base = float(getattr(settings, "LOW_STOCK_EMAIL_RETRY_BASE_SECONDS", DEFAULT_RETRY_BASE_SECONDS))
    cap = float(getattr(settings, "LOW_STOCK_EMAIL_RETRY_MAX_SECONDS", DEFAULT_RETRY_MAX_SECONDS))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


def retry_later(task, *, attempt: int, error: BaseException, **kwargs) -> str:
    """After a failed send: enqueue `task(**kwargs, attempt=attempt + 1)` after the back-off and return
    "retrying", or, past `max_attempts()`, log the give-up and return "failed"."""
    if attempt >= max_attempts():
        logger.error("%s gave up after %s attempts: %s: %s", task.name, attempt, type(error).__name__, error)
        return "failed"
    run_after = timezone.now() + retry_delay(attempt)
    task.using(run_after=run_after).enqueue(**kwargs, attempt=attempt + 1)
    logger.warning("%s failed (attempt %s of %s): %s: %s; retrying after %s", task.name, attempt, max_attempts(),
                   type(error).__name__, error, run_after.isoformat())
    return "retrying"
