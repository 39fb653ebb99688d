"""Shared pieces of the HTTP benchmarks: a throwaway PostgreSQL database, gunicorn, a keep-alive load tool.

Not a test (pytest does not collect bench/). Everything talks to 127.0.0.1 only.
"""

import http.client
import json
import os
import queue
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
REQUEST_TIMEOUT = 30  # seconds, per request
RUN_DEADLINE = 300  # seconds, per load run: the run stops (and says so) rather than hang


def server_environment(database_url: str, secret_key: str, **extra) -> dict:
    """Production-like settings (DEBUG off) for gunicorn and for this process, which must share the JWT key."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "inventory_project.settings",
        "DEBUG": "false",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "60",  # as docs/DEPLOY.md recommends: persistent connections
        "THROTTLE_USER": "100000000/minute",  # the benchmark measures the server, not the write throttle
        "GUNICORN_LOG_LEVEL": "warning",
    }
    if redis_answers():
        env["REDIS_URL"] = REDIS_URL  # throttle counters as in production (else the database cache)
    env.update(extra)
    return env


def redis_answers() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def setup_django(env: dict) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrated_world(warehouse_name: str):
    """Migrate the bench database; create an active admin, an active viewer and the warehouse `HOT`.
    Returns `(admin, viewer, warehouse)`. Call after `setup_django`."""
    from django.core.management import call_command

    from accounts.models import Role, User
    from warehouses.models import Warehouse

    call_command("migrate", verbosity=0)
    admin = User.objects.create_user(username="bench-admin", email="a@example.com", password="x" * 12,
                                     role=Role.get(Role.Name.ADMIN), status=User.Status.ACTIVE)
    viewer = User.objects.create_user(username="bench-viewer", email="v@example.com", password="x" * 12,
                                      role=Role.get(Role.Name.VIEWER), status=User.Status.ACTIVE)
    return admin, viewer, Warehouse.objects.create(code="HOT", name=warehouse_name)


def new_secret() -> str:
    return secrets.token_urlsafe(50)


# --- database ---------------------------------------------------------------------------------------

def recreate_postgres(url: str, *, drop_only: bool = False) -> None:
    """Drop (and unless `drop_only`, create) the database named in `url`: give a name nobody else uses."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of_children(script: str, database_url: str, what: str, *extra: str, repeat: int = 1) -> dict:
    """Best of `repeat` runs of `script --child what` (the fastest; the machine is shared), each in a fresh
    process that prints its figures as JSON on its last line; peak memory is the largest of the runs."""
    runs = []
    for _ in range(repeat):
        command = [sys.executable, script, "--child", what, "--database-url", database_url, *extra]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    best["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return best


def close_and_drop(database_url: str) -> None:
    """Close this process's connections and drop the benchmark's throwaway database."""
    from django.db import connections

    connections.close_all()
    recreate_postgres(database_url, drop_only=True)


def pgbench_one_row(url: str, *, clients: int, seconds: int) -> float:
    """Transactions/s of `UPDATE bench_hot SET n = n + 1 WHERE id = 1` (one row, autocommit), as pgbench sees it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_hot (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_hot VALUES (1, 0) ON CONFLICT DO NOTHING")
    pgbench = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if pgbench is None:
        raise SystemExit("pgbench not found: install the PostgreSQL client tools (postgresql-contrib)")
    parts = urlsplit(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write("UPDATE bench_hot SET n = n + 1 WHERE id = 1;\n")
        script.flush()
        command = [str(pgbench), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", script.name,
                   "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                   "-U", parts.username or "postgres", parts.path.lstrip("/")]
        env = {**os.environ, **({"PGPASSWORD": parts.password} if parts.password else {})}
        done = subprocess.run(command, check=True, capture_output=True, text=True, env=env, timeout=seconds + 60)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    return float(match.group(1))


# --- gunicorn ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py on a free loopback port; its log goes to a file."""

    def __init__(self, env: dict, log_dir: str, *args: str, settings_module: str | None = None):
        self.port = free_port()
        self.log_path = Path(log_dir) / f"gunicorn-{self.port}.log"
        self.log_file = self.log_path.open("w")
        if settings_module:
            # bench/ first: the bench-only settings and URL modules live there (never in the product).
            env = {**env, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}", *args],
            cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited:\n" + self.log_path.read_text())
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/api/health/")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not answer /api/health/ within 30 s:\n" + self.log_path.read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()


# --- load -------------------------------------------------------------------------------------------

class Client:
    """One keep-alive HTTP/1.1 connection; reconnects once if the server closed an idle one."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | None]:
        payload = json.dumps(body) if body is not None else None
        # A write whose connection broke may or may not have been applied: never resend it (the benchmark
        # counts exact outcomes). Each run opens fresh connections, so idle keep-alive closes are rare.
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=payload, headers=self.headers)
                response = self.connection.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
                if attempt == 2 or method != "GET":
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def drive(jobs: list, *, clients: int, port: int, token: str, work) -> tuple[float, Counter, list]:
    """Run `work(client, job) -> (label, value)` over `jobs` with `clients` threads, each with its own
    keep-alive connection; returns (seconds, count per label, values)."""
    pending: queue.Queue = queue.Queue()
    for job in jobs:
        pending.put(job)
    counts: Counter = Counter()
    values: list = []
    errors: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + RUN_DEADLINE
    ready = threading.Barrier(clients + 1)

    def loop():
        client = Client(port, token)
        try:
            client.call("GET", "/api/health/")  # open the connection before the clock starts
            ready.wait()
            while time.monotonic() < deadline:
                try:
                    job = pending.get_nowait()
                except queue.Empty:
                    return
                label, value = work(client, job)
                with lock:
                    counts[label] += 1
                    if value is not None:
                        values.append(value)
        except Exception as exc:  # noqa: BLE001 - reported below, the run is then invalid
            with lock:
                errors.append(repr(exc))
        finally:
            client.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(RUN_DEADLINE + REQUEST_TIMEOUT)
    seconds = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} client error(s), e.g. {errors[0]}")
    if not pending.empty():
        raise SystemExit(f"the run hit its {RUN_DEADLINE} s deadline with {pending.qsize()} jobs left")
    return seconds, counts, values
