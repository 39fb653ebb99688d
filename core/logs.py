"""Log lines an aggregator can read: a request id and user id on every line, one line per request.

`LOG_FORMAT=json` gives one JSON object per line (python-json-logger); plain text is the default.
`RequestContext` (a logging filter) stamps every record, the web tier's and the worker's alike, with
the request id and user id of the request being served (empty in the worker). The request line itself
is written by `core.middleware.RequestLogMiddleware`.
"""

import logging
import re
import uuid
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
user_id: ContextVar[int | None] = ContextVar("user_id", default=None)

# A client's X-Request-ID is kept only if it is a plain token (a proxy's or a front-end's id); otherwise
# a new one is made, so no header can inject line breaks or megabytes into the logs.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(header: str | None) -> str:
    """The client's `X-Request-ID` when it is a plain token of at most 128 characters, else a new id."""
    if header and _CLIENT_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def clear_context(**kwargs) -> None:
    """`request_finished` receiver: lines written after a request (a worker thread's) carry no id."""
    request_id.set("")
    user_id.set(None)


class RequestContext(logging.Filter):
    """Adds `request_id` and `user_id` to every record (the current request's; empty outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id.get()
        return True


PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s"


def logging_config(*, fmt: str = "plain", level: str = "INFO") -> dict:
    """The `LOGGING` setting: plain text (default) or one JSON object per line (`fmt="json"`)."""
    if fmt not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT must be plain or json, not {fmt!r}")
    formatters = {
        "plain": {"format": PLAIN},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter", "format": JSON_FIELDS,
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "core.logs.RequestContext"}},
        "formatters": {fmt: formatters[fmt]},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        # httpx logs every webhook request at INFO; the worker logs each outcome itself (webhooks.delivery).
        "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
    }
