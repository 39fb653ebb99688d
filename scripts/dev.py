#!/usr/bin/env python3
"""Zero-setup developer commands; needs only Python 3.11+ (and git to get the code).

    python3 scripts/dev.py run     set up .venv, migrate, load demo data, run the server and the worker
    python3 scripts/dev.py test    set up .venv and run the whole test suite, one pytest-xdist worker per
                                   core (extra args go to pytest; `-n 0` runs it in one process)
    python3 scripts/dev.py setup   only set up .venv with the development requirements (benchmarks)

The database is SQLite unless DATABASE_URL is set (e.g. postgres://postgres@127.0.0.1:5432/inventory).
"""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def sh(*args, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, **kwargs)


def ensure_venv(requirements: str) -> None:
    """Create .venv and install the pinned requirements (again only when they change)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on whatever python3 is installed
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements)
    stamp.write_text(digest.hexdigest())


def development_environment() -> None:
    """The settings are production-safe by default; the development commands run with DEBUG on (which also
    gives a per-checkout generated SECRET_KEY in .secret_key) unless the caller chose otherwise."""
    os.environ.setdefault("DEBUG", "true")


class Supervised:
    """A process restarted whenever it exits (the background worker of `run`), after a pause that doubles
    (1 s up to 30 s) while it keeps exiting within a minute of its start; stop() ends it for good."""

    def __init__(self, name: str, args: list[str], first_delay: float = 1.0, max_delay: float = 30.0):
        self.name, self.args = name, [str(a) for a in args]
        self.first_delay, self.max_delay = first_delay, max_delay
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.thread = threading.Thread(target=self._supervise, daemon=True)

    def start(self) -> "Supervised":
        self._spawn()
        self.thread.start()
        return self

    def _spawn(self) -> None:
        self.process = subprocess.Popen(self.args, cwd=ROOT)
        self.starts += 1
        print(f"{self.name} started, pid {self.process.pid}", flush=True)

    def _supervise(self) -> None:
        delay = self.first_delay
        while True:
            started = time.monotonic()
            code = self.process.wait()
            if self.stopping.wait(0.2):  # Ctrl-C reaches the worker too; that exit is not a crash
                return
            if time.monotonic() - started > 60:
                delay = self.first_delay
            print(f"{self.name} exited (code {code}); restarting it in {delay:g} s", flush=True)
            if self.stopping.wait(delay):
                return
            with self.lock:
                if self.stopping.is_set():
                    return
                self._spawn()
            delay = min(self.max_delay, delay * 2)

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        with self.lock:
            process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.thread.join(timeout)


def run() -> int:
    ensure_venv("requirements.txt")
    development_environment()
    manage = [PY, "manage.py"]
    sh(*manage, "migrate", "--no-input")
    sh(*manage, "seed_demo")
    # The worker reconnects by itself after a database restart; should it exit anyway, it is started again.
    worker = Supervised("background worker (alert e-mails, reservation expiry)",
                        [PY, "manage.py", "db_worker", "--no-reload"]).start()
    address = os.environ.get("PORT", "127.0.0.1:8000")
    base = f"http://{address if ':' in address else '127.0.0.1:' + address}"
    print(f"\nAPI: {base}/api/   docs: {base}/api/docs/   admin: {base}/admin/\n", flush=True)
    try:
        return subprocess.call([str(PY), "manage.py", "runserver", address], cwd=ROOT)
    except KeyboardInterrupt:
        return 0
    finally:
        worker.stop()


def parallel(extra: list[str]) -> list[str]:
    """pytest-xdist, one worker per core, unless the caller chose (`-n 0`, `-n 4`, `-p no:xdist`).

    `worksteal`: a worker that runs out of tests takes half of another's queue, so a run does not end with one
    worker finishing a long tail while the other idles."""
    chosen = any(arg == "-n" or arg.startswith(("-n", "--numprocesses", "--dist")) or arg == "no:xdist"
                 for arg in extra)
    return [] if chosen else ["-n", "auto", "--dist", "worksteal"]


def test(extra: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    development_environment()
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"running the test suite on {engine}", flush=True)
    # pytest rewrites the asserts of ~400 modules (tests, conftests, plugins) in every process; let it keep
    # them in __pycache__ (git-ignored) instead of redoing it each run, when the environment forbids that.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.call([str(PY), "-m", "pytest", *parallel(extra), *extra], cwd=ROOT, env=env)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        return run()
    if sys.argv[1] == "setup":  # .venv with the development requirements (the benchmarks need them)
        ensure_venv("requirements-dev.txt")
        return 0
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
