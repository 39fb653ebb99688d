"""The production server: gunicorn with gunicorn.conf.py, several workers, a live socket (bounded, a few seconds).

Each test starts its own gunicorn in a subprocess against a migrated SQLite file (a file, unlike the test
database, is shared by the worker processes) and talks HTTP to it.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database index of its own, flushed by the test

# Subprocess servers on their own SQLite file, whatever the suite's database: CI runs them once.
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """A migrated SQLite file (it holds the database cache's table too)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'db.sqlite3'}"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, check=True, timeout=120,
                   env={**server_environment(url), "DEBUG": "true"})
    return url


def server_environment(database_url: str, **extra) -> dict:
    """Production-like settings: DEBUG off, a random key, no TLS redirect (no proxy in front in the test)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "inventory_project.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn started with the repository's gunicorn.conf.py; `log` is what it wrote (access log included)."""

    def __init__(self, env: dict, *args: str):
        self.port = free_port()
        self.log_path = Path(env["LOG_DIR"]) / f"gunicorn-{self.port}.log"
        env = {key: value for key, value in env.items() if key != "LOG_DIR"}
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}", *args],
            cwd=BASE_DIR, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() can end the workers too, whatever happens
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log
            try:
                if self.request("GET", "/api/health/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("gunicorn did not answer /api/health/ within 20 s:\n" + self.log)

    def request(self, method, path, body=None, headers=None):
        """One request on a new connection (so that any worker may take it): (status, headers, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    @property
    def log(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text()

    def stop(self):
        # SIGINT: gunicorn's quick shutdown (SIGTERM waits for its workers' poll loops to notice, seconds
        # per server); by now every request of the test has been answered.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        try:  # a worker orphaned by a master that had to be killed must not outlive the test
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log_file.close()


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(env: dict, *args: str) -> Server:
        server = Server({**env, "LOG_DIR": str(tmp_path)}, *args)
        servers.append(server)
        return server

    yield start
    stoppers = [threading.Thread(target=server.stop) for server in servers]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()


def test_gunicorn_with_the_config_answers_health_and_a_long_request_line(serve, database_url):
    server = serve(server_environment(database_url))
    status, headers, body = server.request("GET", "/api/health/")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    # A long filter URL: gunicorn's default limit (4094 bytes) answered it with an HTML 414 page.
    path = "/api/health/?search=" + "x" * 6000
    assert len(f"GET {path} HTTP/1.1") > 6000
    status, headers, body = server.request("GET", path)
    assert status == 200
    assert "GET /api/health/" in server.log  # the access log goes to stdout


def test_the_config_sizes_the_workers_from_the_cpus_capped_by_web_concurrency():
    show = "import runpy; c = runpy.run_path('gunicorn.conf.py'); print(c['workers'], c['limit_request_line'])"
    outputs = []
    for extra in ({}, {"WEB_CONCURRENCY": "1"}, {"WEB_CONCURRENCY": "1000"}):
        result = subprocess.run([sys.executable, "-c", show], cwd=BASE_DIR, capture_output=True, text=True,
                                timeout=30, env={"PATH": os.environ.get("PATH", ""), **extra})
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.split())
    cores = os.cpu_count()
    assert outputs == [[str(2 * cores + 1), "8190"], ["1", "8190"], [str(2 * cores + 1), "8190"]]


def assert_login_rate_is_global(first, second):
    """5 wrong guesses through one server use up the budget on the other: the rate lives in the shared cache.

    Two gunicorn instances cannot share memory, so this holds only if every process counts in the one
    cache (sending everything to one multi-worker instance cannot prove it: the kernel may hand every connection
    to the same worker). Each guess also comes with a new `X-Forwarded-For`, which must not help.
    """
    def guess(server, i):
        body = json.dumps({"username": "nobody", "password": f"guess-{i}"})
        return server.request("POST", "/api/auth/login/", body, {
            "Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{i}"})[0]

    assert [guess(first, i) for i in range(5)] == [401] * 5
    assert [guess(second, i) for i in range(5, 10)] == [429] * 5
    assert [guess(first, i) for i in range(10, 12)] == [429] * 2


ACCESS_LOG_FORMAT = "worker=%(p)s %(m)s %(U)s %(s)s"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_answers(), reason="needs Redis on 127.0.0.1:6379")
def test_the_login_throttle_holds_across_processes_with_redis(serve, database_url):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    # A prefix of its own: another run on this machine may share the Redis database.
    env = server_environment(database_url, THROTTLE_AUTH="5/minute", REDIS_URL=REDIS_URL,
                             CACHE_KEY_PREFIX=secrets.token_hex(8))
    first = serve(env, "--workers", "2", "--threads", "1", "--access-logformat", ACCESS_LOG_FORMAT)
    second = serve(env, "--workers", "1")
    assert_login_rate_is_global(first, second)


def test_the_login_throttle_holds_across_processes_with_the_database_cache(serve, database_url):
    env = server_environment(database_url, THROTTLE_AUTH="5/minute")
    first = serve(env, "--workers", "2", "--threads", "1", "--access-logformat", ACCESS_LOG_FORMAT)
    second = serve(env, "--workers", "1")
    # Not the first test on this database: start from an empty cache table.
    subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.core.cache import cache; "
                    "cache.clear()"], cwd=BASE_DIR, env=server_environment(database_url), check=True, timeout=60)
    assert_login_rate_is_global(first, second)


def test_a_100_mib_multipart_post_to_register_is_answered_without_being_read(serve, database_url):
    server = serve(server_environment(database_url), "--workers", "1")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/auth/register/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: multipart/form-data; boundary=B\r\n"
                     b"Content-Length: " + str(100 * 1024 * 1024).encode() + b"\r\n\r\n--B\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert time.monotonic() - started < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 415"), answer[:300]
    assert json.loads(body)["code"] == "unsupported_media_type"
