"""docs/DEPLOY.md keeps its security promises (issue 24, item 10, and the connection budget)."""

import re
from pathlib import Path

DEPLOY = (Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## \d+\. {re.escape(title)}.*?(?=^## )", DEPLOY, flags=re.S | re.M)
    assert match, title
    return match.group(0)


def test_backups_are_private_from_the_first_file():
    backups = section("Backups")
    assert "install -d -m 0700 -o postgres -g postgres /var/backups/inventory" in backups
    cron = [line for line in backups.splitlines() if line.startswith("0 2 * * * postgres")]
    assert len(cron) == 1 and "umask 077" in cron[0], cron


def test_the_doc_says_what_a_dump_holds():
    backups = " ".join(section("Backups").split())
    for secret in ("password hashes", "refresh tokens", "e-mail addresses", "audit"):
        assert secret in backups, secret


def test_the_doc_sizes_database_connections_against_max_connections():
    assert "max_connections" in section("The application server")
