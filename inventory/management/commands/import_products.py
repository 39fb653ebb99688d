"""`python manage.py import_products FILE [--dry-run] [--user NAME]`: the catalogue from a CSV file."""

from inventory.management.importing import ImportCommand
from inventory.services import import_products


class Command(ImportCommand):
    """`import_products`: the same validation, error report and all-or-nothing rule as `POST /api/products/import/`."""

    help = "Create and update products from a CSV file (header sku,name,description,unit,is_active)."

    def handle(self, *args, **options):
        self.run(import_products, options=options)
