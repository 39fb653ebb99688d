#!/usr/bin/env python3
"""Measure issue 23's figure: the operations schemathesis says "mostly rejected generated data due to validation
errors" (its `validation_mismatch` warning), with its four checks, against a fresh demo database.

    .venv/bin/python scripts/schema_mismatch.py [--examples 20] [--seed 1] [--only REGEX] [--keep DIR]

It migrates a new SQLite database in a temporary directory, loads the demo (`seed_demo`), serves it with
`runserver` on a free local port (throttles raised: the run sends thousands of requests), logs in as the demo
admin and runs `schemathesis run` over /api/schema/ with the four checks of `core/tests/test_schema_truth.py`
(one worker, a fixed seed). It prints the operations with the warning, then the checks' failures; the exit
status is 1 if a check failed. About five minutes at 20 examples per operation on one CPU.
The operations it may still list are those whose refusal JSON Schema cannot express: docs/DECISIONS.md,
"What the schema cannot say".
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _token(base: str) -> str:
    request = urllib.request.Request(f"{base}/api/auth/login/", method="POST",
                                     data=json.dumps({"username": "admin", "password": "admin12345"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20, help="schemathesis --max-examples (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", help="schemathesis --include-path-regex")
    parser.add_argument("--keep", help="a directory to keep the database, the server log and the reports in")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="schema-mismatch-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
           "THROTTLE_USER": "1000000/minute", "THROTTLE_AUTH": "1000000/minute"}
    (work / "db.sqlite3").unlink(missing_ok=True)
    for command in (["migrate", "-v0"], ["seed_demo"]):
        subprocess.run([BIN / "python", "manage.py", *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(work / "server.log", "w") as log:
        server = subprocess.Popen([BIN / "python", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"{base}/api/health/")
        report = work / "report.json"
        command = [BIN / "schemathesis", "run", f"{base}/api/schema/?format=json",
                   "-H", f"Authorization: Bearer {_token(base)}", "--checks", CHECKS, "--workers", "1",
                   "--seed", str(args.seed), "--max-examples", str(args.examples), "--no-color",
                   "--report", "json", "--report-json-path", report]
        if args.only:
            command += ["--include-path-regex", args.only]
        started = time.monotonic()
        with open(work / "schemathesis.txt", "w") as out:
            subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        result = json.loads(report.read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)
    mismatch = result["warnings"]["validation_mismatch"]
    print(f"schemathesis {result['schemathesis_version']}, {result['operations']['tested']} operations, "
          f"{result['test_cases']['generated']} cases, seed {args.seed}, {time.monotonic() - started:.0f} s "
          f"(output and reports in {work})")
    print(f"validation_mismatch: {len(mismatch)} operations")
    for label in mismatch:
        print(f"  - {label}")
    failures = result["test_cases"]["with_failures"] + result["test_cases"]["errored"]
    print(f"checks: {failures} failing or erroring cases")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
