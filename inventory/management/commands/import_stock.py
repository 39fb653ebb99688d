"""`python manage.py import_stock FILE [--mode set] [--dry-run] [--user NAME]`: stock from a CSV file."""

from functools import partial

from inventory.management.importing import ImportCommand
from inventory.services import import_stock


class Command(ImportCommand):
    """`import_stock`: the same validation, error report and all-or-nothing rule as `POST /api/stocks/import/`."""

    help = ("Assign (default) or set stock from a CSV file (header warehouse_code,sku,quantity,note); one ledger "
            "movement per changed row.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--mode", choices=["assign", "set"], default="assign",
                            help="assign: add the quantity; set: make on-hand equal it (an adjust, reason count).")

    def handle(self, *args, **options):
        self.run(partial(import_stock, mode=options["mode"]), options=options)
