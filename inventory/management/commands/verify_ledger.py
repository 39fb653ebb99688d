"""`python manage.py verify_ledger`: prove every balance against the append-only ledger."""

from django.core.management.base import BaseCommand, CommandError

from inventory.models import Stock, StockMovement
from inventory.verification import CHECKS


class Command(BaseCommand):
    """`verify_ledger`: every stock row equals the sum of its movements; exits non-zero otherwise."""

    help = (
        "For every stock row check quantity == sum(quantity_change) of its movements, and that each "
        "movement's quantity_after is the running sum in id order, and reserved == the units held by active "
        "reservations (incoming == units in transit), and the daily roll-up equals the ledger. "
        "Exits non-zero on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--show", type=int, default=20, help="Print at most this many mismatches (default 20).")

    def handle(self, *args, show: int, **options):
        rows = Stock.objects.count()
        movements = StockMovement.objects.count()
        self.stdout.write(f"Checked {rows} stock rows and {movements} movements.")
        count = 0
        for source in CHECKS:
            for mismatch in source():
                count += 1
                if count <= show:
                    self.stdout.write(f"  {mismatch}")
        if count:
            raise CommandError(f"{count} mismatch(es) found: the ledger does not agree with the balances.")
        self.stdout.write(self.style.SUCCESS("0 mismatches: every balance equals the sum of its ledger."))
