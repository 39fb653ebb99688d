"""`python manage.py rebuild_daily_flows`: recompute the dashboards' daily roll-up from the ledger."""

from django.core.management.base import BaseCommand

from inventory import rollups


class Command(BaseCommand):
    """`rebuild_daily_flows`: after a change of TIME_ZONE, or to repair what `verify_ledger` reports."""

    help = ("Recompute every DailyFlow row from the stock ledger (days in the current TIME_ZONE). "
            "Holds the roll-up table's lock while it runs; stock changes wait for it.")

    def handle(self, *args, **options):
        rows = rollups.rebuild()
        self.stdout.write(self.style.SUCCESS(f"{rows} daily flow rows rebuilt from the ledger."))
