"""Helpers for tests that race real threads on a real database, each thread on its own connection, or that run
real worker processes against the test database."""

import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

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


_HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def api_routes():
    """`(path pattern, METHOD)` for every endpoint under /api/, read from the URL configuration.

    Path parameters read `<int:pk>` (path converters) or `<pk>` (a router's regex group). Tests that
    must cover every endpoint walk this, so a new endpoint cannot be forgotten.
    """
    import re

    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            part = str(entry.pattern).removeprefix("^").removesuffix("$")
            part = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", part)
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + part)
            elif isinstance(entry, URLPattern):
                yield prefix + part, entry.callback

    for pattern, callback in walk(get_resolver(), ""):
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if not pattern.startswith("api/") or view is None:
            continue
        allowed = getattr(view, "http_method_names", _HTTP_METHODS)
        actions = getattr(callback, "actions", None)  # a router's view set: {http method: action}
        methods = actions.keys() if actions else [m for m in _HTTP_METHODS if hasattr(view, m)]
        for method in methods:
            if method in _HTTP_METHODS and method in allowed:
                yield pattern, method.upper()


BASE_DIR = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database as a URL, for a subprocess (a worker, a server) that must use the same database."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`manage.py db_worker` in a subprocess against the test database (production settings, DEBUG off), polling
    every 0.1 s, its output in `log_dir/worker-<name>.log`; `env` adds or overrides settings."""

    def __init__(self, name: str, log_dir: Path, **env: str):
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "inventory_project.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url(),
            **env,
        }
        self.log_path = log_dir / f"worker-{name}.log"
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1",
             "--worker-id", name, "-v", "2"],
            cwd=BASE_DIR, env=environment, stdout=self.log_file, stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self):
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(TIMEOUT)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_file.close()
