"""`manage.py prune_webhook_deliveries [--days N]`: delete delivered webhook deliveries older than N days
(default 30) and the events left without a delivery. Failed and pending ones are kept for the log."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from webhooks.services import prune_deliveries


class Command(BaseCommand):
    help = "Delete delivered webhook deliveries older than --days (default 30) and events left without one."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="keep this many days of delivered deliveries")

    def handle(self, *args, days: int, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deliveries, events = prune_deliveries(older_than=timedelta(days=days))
        self.stdout.write(f"Deleted {deliveries} delivered deliveries and {events} events older than {days} days.")
