"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py inventory_project.wsgi` (see docs/DEPLOY.md).

Every value can still be overridden on the command line (command-line flags win over this file).
"""

import multiprocessing
import os

wsgi_app = "inventory_project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind the reverse proxy; it terminates TLS

# The usual 2 × cores + 1 workers, capped by WEB_CONCURRENCY (memory is usually the tighter limit).
workers = 2 * multiprocessing.cpu_count() + 1
if os.environ.get("WEB_CONCURRENCY"):
    workers = max(1, min(workers, int(os.environ["WEB_CONCURRENCY"])))
# A few threads per worker keep a worker busy while one request waits on the database or a PDF is
# streamed. Throttle counters are in the shared cache, so they hold across workers and threads.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

timeout = 60  # a monthly PDF report of a large warehouse is the slowest legitimate request
graceful_timeout = 30
keepalive = 5

# Logs to stdout/stderr, for the supervisor (systemd's journal) to collect.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The default request-line limit (4094 bytes) answers long filter URLs — several ids, a date range, a
# search text and a cursor — with gunicorn's HTML 414 page. 8190 is the largest value gunicorn allows and
# what common proxies accept (nginx: large_client_header_buffers 4 8k); keep the proxy's limit in step.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
