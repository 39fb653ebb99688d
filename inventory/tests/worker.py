"""Run the real task worker in-process in tests."""

import signal

from django.core.management import call_command


def run_worker():
    """The real worker: process every due task, then exit (restoring the signal handlers it installs)."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
