"""What `import_products` and `import_stock` share: the acting user, a progress display, the error report."""

import json
import os
import sys
from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from core.errors import DomainError
from inventory.services.files import MAX_BYTES, InvalidFile

CHUNK = 64 * 1024


class ImportCommand(BaseCommand):
    """Base of the import commands: `FILE [--dry-run] [--user NAME]`, same validation and report as the API."""

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, with or without BOM).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument("--user", help="Act as this user (default: the first active admin). The same "
                                           "policies as the API apply to them.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the reading progress.")

    def actor(self, username: str | None) -> User:
        users = User.objects.filter(status=User.Status.ACTIVE).select_related("role")
        user = (users.filter(username=username) if username else
                users.filter(role__name=Role.Name.ADMIN).order_by("pk")).first()
        if user is None:
            raise CommandError(f"No active user {username!r}." if username else "No active admin: pass --user.")
        return user

    def chunks(self, path: str, *, progress: bool) -> Iterator[bytes]:
        """The file's bytes in chunks, refusing one over the limit unread, reporting progress on stderr."""
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        if size > MAX_BYTES:
            raise CommandError(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it.")
        return self._read(path, size, progress=progress and size > CHUNK)

    def _read(self, path: str, size: int, *, progress: bool) -> Iterator[bytes]:
        done, shown = 0, -1
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                done += len(chunk)
                percent = done * 100 // size
                if progress and percent // 10 != shown:
                    shown = percent // 10
                    self.stderr.write(f"\rreading {percent:3d}%", ending="")
                yield chunk
        if progress:
            self.stderr.write("\rread, validating and writing…")

    def run(self, work, *, options) -> None:
        """Call the import service; print its summary as JSON, or every problem and exit non-zero."""
        try:
            result = work(actor=self.actor(options["user"]),
                          binary=self.chunks(options["file"], progress=not options["no_progress"]),
                          dry_run=options["dry_run"])
        except InvalidFile as exc:
            for error in exc.extra["errors"]:
                where = "file" if error["row"] is None else f"row {error['row']}"
                column = f", {error['field']}" if error["field"] else ""
                code = f" [{error['code']}]" if error.get("code") else ""  # a lot problem's code (SPEC §17)
                self.stderr.write(f"{where}{column}: {error['message']}{code}")
            raise CommandError(exc.detail) from None
        except DomainError as exc:  # permission, a concurrent duplicate, …: its message, not a traceback
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(json.dumps(result))
        sys.stdout.flush()
