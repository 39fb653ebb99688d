"""A PostgreSQL streaming replica of the local cluster on port 5433, for the replica router's test and benchmarks.

Not a test. Usage, from the project root (`make replica-up` / `make replica-down`):

    .venv/bin/python bench/replica.py up       # make (pg_basebackup) and start the standby on 127.0.0.1:5433
    .venv/bin/python bench/replica.py status   # is it up, in recovery, and how far behind
    .venv/bin/python bench/replica.py down     # stop it and delete its data directory

What `up` changes on the PRIMARY (a development machine's cluster on 127.0.0.1:5432, superuser `postgres`):
a role `replicator` (REPLICATION LOGIN, no password) and one pg_hba.conf line
`host replication replicator 127.0.0.1/32 trust`, then `pg_reload_conf()`. Loopback and trust only: do
not do this on a shared or production server (there: a password or certificate, and `hostssl`).
The standby is a physical copy of the whole cluster (every database), read-only (hot standby), with its
own minimal postgresql.conf and pg_hba.conf in its data directory, run by the `postgres` OS user.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PRIMARY_PORT = 5432
PORT = int(os.environ.get("REPLICA_PORT", "5433"))
DATA_DIR = Path(os.environ.get("REPLICA_DATA_DIR", f"/var/tmp/inventory-replica-{PORT}"))
HBA_LINE = "host replication replicator 127.0.0.1/32 trust"


def _as_postgres(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run as the `postgres` OS user (the server refuses to run as root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def _sql(port: int, query: str) -> str | None:
    """One statement through `psql` (no Python driver needed: runs from a fresh clone); None if no server."""
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres", "-AtXq",
                           "-v", "ON_ERROR_STOP=1", "-c", query], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "2"})
    if done.returncode != 0:
        if "could not connect" in done.stderr or "Connection refused" in done.stderr:
            return None
        raise SystemExit(f"psql on port {port} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _bin_dir() -> Path:
    major = _sql(PRIMARY_PORT, "SHOW server_version_num")[:2]
    found = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (found / "pg_basebackup").exists():
        raise SystemExit(f"pg_basebackup not found in {found}: install the PostgreSQL {major} server package")
    return found


def _prepare_primary() -> None:
    if not _sql(PRIMARY_PORT, "SELECT 1 FROM pg_roles WHERE rolname = 'replicator'"):
        _sql(PRIMARY_PORT, "CREATE ROLE replicator WITH REPLICATION LOGIN")
    hba = Path(_sql(PRIMARY_PORT, "SHOW hba_file"))
    if HBA_LINE not in hba.read_text():
        with hba.open("a") as out:
            out.write(f"\n# inventory bench/replica.py: streaming replica on this machine\n{HBA_LINE}\n")
        _sql(PRIMARY_PORT, "SELECT pg_reload_conf()")


def replica_answers(port: int = PORT) -> bool:
    return _sql(port, "SELECT pg_is_in_recovery()") == "t"


def up() -> int:
    if replica_answers():
        print(f"a replica already answers on 127.0.0.1:{PORT}")
        return status()
    if _sql(PRIMARY_PORT, "SELECT 1") is None:
        raise SystemExit(f"no PostgreSQL primary answers on 127.0.0.1:{PRIMARY_PORT}")
    bin_dir = _bin_dir()
    _prepare_primary()
    if DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    # -R: standby.signal + primary_conninfo; -X stream: the WAL written during the copy comes along.
    _as_postgres([str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", "5432", "-U", "replicator",
                  "-D", str(DATA_DIR), "-R", "-X", "stream", "-c", "fast"])
    (DATA_DIR / "postgresql.conf").write_text(
        f"port = {PORT}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{DATA_DIR}'\n"
        "hot_standby = on\nmax_connections = 100\nshared_buffers = 64MB\n"
        "max_standby_streaming_delay = 30s\nhot_standby_feedback = on\n")
    (DATA_DIR / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    (DATA_DIR / "pg_ident.conf").write_text("")
    if os.geteuid() == 0:
        shutil.chown(DATA_DIR / "postgresql.conf", "postgres", "postgres")
        shutil.chown(DATA_DIR / "pg_hba.conf", "postgres", "postgres")
        shutil.chown(DATA_DIR / "pg_ident.conf", "postgres", "postgres")
    _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(DATA_DIR), "-l", str(DATA_DIR / "server.log"), "-w", "start"])
    deadline = time.monotonic() + 30
    while not replica_answers():
        if time.monotonic() > deadline:
            raise SystemExit(f"the replica did not answer; see {DATA_DIR / 'server.log'}")
        time.sleep(0.5)
    print(f"replica up on 127.0.0.1:{PORT} (data {DATA_DIR}) in {time.monotonic() - began:.1f} s")
    return status()


def status() -> int:
    if not replica_answers():
        print(f"no replica answers on 127.0.0.1:{PORT}")
        return 1
    senders = _sql(PRIMARY_PORT, "SELECT application_name || ' ' || state || ' ' || sync_state || ', replay behind "
                                 "by ' || pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) || ' bytes' "
                                 "FROM pg_stat_replication")
    lag = _sql(PORT, "SELECT now() - pg_last_xact_replay_timestamp()")
    print(f"replica on {PORT}: in recovery; primary's senders: {senders}; time since last replayed commit {lag}")
    return 0


def down() -> int:
    pg_ctl = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None)
    if (DATA_DIR / "postmaster.pid").exists() and pg_ctl:
        _as_postgres([str(pg_ctl), "-D", str(DATA_DIR), "-m", "fast", "-w", "stop"])
    if DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
    print(f"replica on {PORT} stopped, {DATA_DIR} removed (the primary's role and pg_hba line stay)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    return {"up": up, "down": down, "status": status}[parser.parse_args().action]()


if __name__ == "__main__":
    sys.exit(main())
