"""`make run` (scripts/dev.py) starts the background worker again when it exits."""

import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dev.py"


def dev_module():
    spec = importlib.util.spec_from_file_location("dev_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_worker_that_exits_is_started_again_and_stop_ends_it_for_good(capsys):
    dev = dev_module()
    worker = dev.Supervised("test worker", [sys.executable, "-c", "import time; time.sleep(60)"],
                            first_delay=0.05).start()
    try:
        first = worker.process
        os.kill(first.pid, signal.SIGKILL)  # as the OOM killer would
        wait_for(lambda: worker.starts == 2 and worker.process.poll() is None)
        assert worker.process.pid != first.pid
    finally:
        worker.stop()
    assert worker.process.poll() is not None  # the interrupt ended it ...
    time.sleep(0.5)
    assert worker.starts == 2  # ... and nothing started it again
    out = capsys.readouterr().out
    assert f"test worker exited (code {-signal.SIGKILL}); restarting it in 0.05 s" in out


def test_a_worker_that_keeps_exiting_is_restarted_with_a_growing_pause(capsys):
    dev = dev_module()
    worker = dev.Supervised("test worker", [sys.executable, "-c", "raise SystemExit(3)"],
                            first_delay=0.05, max_delay=0.2).start()
    try:
        wait_for(lambda: worker.starts >= 4, timeout=20)
    finally:
        worker.stop()
    pauses = [line.rsplit(" in ", 1)[1] for line in capsys.readouterr().out.splitlines() if "exited (code 3)" in line]
    assert pauses[:3] == ["0.05 s", "0.1 s", "0.2 s"]
