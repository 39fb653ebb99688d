"""`python manage.py rebuild_daily_flows`: recompute the dashboards' daily roll-up from the ledger."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from inventory import rollups


class Command(BaseCommand):
    """`rebuild_daily_flows`: after a change of TIME_ZONE, or to repair what `verify_ledger` reports."""

    help = ("Recompute every DailyFlow row from the stock ledger (days in the current TIME_ZONE). "
            "Holds the roll-up table's lock while it runs; stock changes wait for it.")

    def handle(self, *args, **options):
        rows = rollups.rebuild()
        rollups.ensure_closing_scheduled(timezone.now())  # the worker closes the settled days again
        self.stdout.write(self.style.SUCCESS(f"{rows} daily flow rows rebuilt from the ledger; the worker closes "
                                             "the settled days again."))
