"""Delete stored Idempotency-Key responses older than the retention (SPEC: kept at least 24 hours)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.idempotency import RETENTION
from core.models import IdempotencyRecord

MIN_HOURS = 24


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than the retention period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours", type=int, default=int(RETENTION.total_seconds() // 3600),
            help=f"Delete records older than this many hours (default and minimum: see docs; at least {MIN_HOURS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, hours: int, dry_run: bool, **options):
        if hours < MIN_HOURS:
            raise CommandError(f"--hours must be at least {MIN_HOURS} (keys are honoured at least that long).")
        cutoff = timezone.now() - timedelta(hours=hours)
        stale = IdempotencyRecord.objects.filter(created_at__lt=cutoff)
        if dry_run:
            self.stdout.write(f"{stale.count()} idempotency record(s) older than {hours} h would be deleted.")
            return
        deleted, _ = stale.delete()
        self.stdout.write(f"Deleted {deleted} idempotency record(s) older than {hours} h.")
