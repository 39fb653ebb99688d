"""Benchmark of the CSV imports (10 000 products, 10 000 stock rows) and of the streamed stock export.

Not a test (pytest does not collect bench/). Usage, from the project root:

    DEBUG=true .venv/bin/python bench/imports_bench.py                    # throwaway SQLite file in a temp dir
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench DEBUG=true .venv/bin/python bench/imports_bench.py

With PostgreSQL the named database is dropped (if present), created, used and dropped again: give a
name nobody else uses. Steps: migrate; a catalogue of 10 000 products, 10 warehouses holding an
(empty) row of each (100 000 rows) and an empty warehouse the stock import fills; then each
measurement in its own subprocess (so its peak RSS is its own), inside a transaction that is rolled
back (so every run starts from the same database):

- `import_products` of 10 000 new products, against `Product.objects.bulk_create` of the same rows;
- `import_stock` (assign) of 10 000 rows, one ledger movement each through the stock door, against
  `bulk_create` of the same stock rows (no ledger, no alerts, no checks: the floor, not a rival);
- the stock export streamed to a file at 10 000 and at 100 000 rows: flat memory means the peak RSS
  of the second is about that of the first.

Figures are printed as ratios to the baseline measured in the same run, since the machine varies.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from loadlib import best_of_children, peak_rss_mb, recreate_postgres  # bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_project.settings")

ROWS = 10_000
WAREHOUSES = 10  # × 10 000 products = 100 000 stock rows for the export
CHILDREN = ("products", "products-bulk", "stock", "stock-bulk", "export-10k", "export-100k")


def _setup_django(database_url: str):
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()



def _prepare():
    from django.core.management import call_command

    from accounts.models import User
    from inventory.models import Product, Stock
    from warehouses.models import Warehouse

    call_command("migrate", verbosity=0)
    User.objects.create_superuser("bench-admin", "bench@example.com", "x")
    Warehouse.objects.create(code="IMP", name="Imports land here")
    warehouses = [Warehouse.objects.create(code=f"W{i}", name=f"Warehouse {i}") for i in range(WAREHOUSES)]
    Product.objects.bulk_create(Product(sku=f"SKU-{i:05d}", name=f"Product number {i}") for i in range(ROWS))
    products = list(Product.objects.values_list("pk", flat=True))
    for warehouse in warehouses:  # empty rows, as the stock door creates them: consistent with the ledger
        Stock.objects.bulk_create(Stock(warehouse=warehouse, product_id=p) for p in products)


# --- one measurement (runs in a subprocess) -------------------------------------------------------------

def _products_csv() -> bytes:
    lines = ["sku,name,description,unit,is_active"]
    lines += [f"NEW-{i:05d},New product {i},Imported by the benchmark,pcs,true" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _stock_csv() -> bytes:
    lines = ["warehouse_code,sku,quantity,note"] + [f"IMP,SKU-{i:05d},{1 + i % 50},bench" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _measure(what: str) -> dict:
    from django.db import transaction

    from accounts.models import User
    from inventory.models import Product, Stock
    from inventory.selectors import stock_levels_for
    from inventory.services.files import STOCK_EXPORT_COLUMNS, import_products, import_stock, stock_export_rows
    from warehouses.models import Warehouse

    admin = User.objects.get(username="bench-admin")
    rows = ROWS
    with transaction.atomic():
        if what.startswith("export"):
            from core.spreadsheets import csv_lines

            levels = stock_levels_for(admin)
            if what == "export-10k":
                levels = levels.filter(warehouse__code="W0")
            rows = levels.count()
            began = time.perf_counter()
            written = 0
            with tempfile.TemporaryFile() as out:
                for chunk in csv_lines(STOCK_EXPORT_COLUMNS, stock_export_rows(levels),
                                       text_columns=(0, 1, 2)):
                    out.write(chunk.encode())
                    written += chunk.count("\n")
            assert written == rows + 1, (written, rows)
        else:
            data = _products_csv() if what.startswith("products") else _stock_csv()
            began = time.perf_counter()
            if what == "products":
                result = import_products(actor=admin, binary=[data])
                assert result["created"] == ROWS, result
            elif what == "products-bulk":
                Product.objects.bulk_create((Product(sku=f"NEW-{i:05d}", name=f"New product {i}",
                                                     description="Imported by the benchmark") for i in range(ROWS)),
                                            batch_size=1000)
            elif what == "stock":
                result = import_stock(actor=admin, binary=[data])
                assert result["changed"] == ROWS, result
            else:
                warehouse = Warehouse.objects.get(code="IMP")
                products = dict(Product.objects.filter(sku__startswith="SKU-").values_list("sku", "pk"))
                Stock.objects.bulk_create((Stock(warehouse=warehouse, product_id=products[f"SKU-{i:05d}"],
                                                 quantity=1 + i % 50) for i in range(ROWS)), batch_size=1000)
        seconds = time.perf_counter() - began
        transaction.set_rollback(True)
    return {"what": what, "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
            "peak_rss_mb": peak_rss_mb()}


def _run_child(database_url: str, what: str, repeat: int) -> dict:
    return best_of_children(__file__, database_url, what, repeat=repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept (default 3)")
    args = parser.parse_args()
    if args.child:
        _setup_django(args.database_url)
        print(json.dumps(_measure(args.child)))
        return 0

    tmp = tempfile.TemporaryDirectory(prefix="imports-bench-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        recreate_postgres(url)
    try:
        _setup_django(url)
        from django.db import connection

        print(f"database: {connection.vendor}   python {sys.version.split()[0]}   cpus {os.cpu_count()}")
        _prepare()
        connection.close()  # the children open their own connections
        results = {what: _run_child(url, what, args.repeat) for what in CHILDREN}
    finally:
        if postgres:
            from django.db import connections

            connections.close_all()
            recreate_postgres(url, drop_only=True)
        tmp.cleanup()

    print(f"\nbest of {args.repeat} runs per line (all runs' seconds in brackets)")
    print(f"{'measurement':<14}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'peak RSS MB':>13}")
    for what, r in results.items():
        print(f"{what:<14}{r['rows']:>9}{r['seconds']:>10.2f}{r['rows_per_s']:>10.0f}{r['peak_rss_mb']:>13.0f}"
              f"   {r['all_seconds']}")
    for name, baseline in (("products", "products-bulk"), ("stock", "stock-bulk")):
        a, b = results[name], results[baseline]
        print(f"{name} import: {a['seconds'] / b['seconds']:.1f} x the time of bulk_create, "
              f"peak RSS {a['peak_rss_mb'] / b['peak_rss_mb']:.2f} x")
    small, large = results["export-10k"], results["export-100k"]
    print(f"export: 10 x the rows in {large['seconds'] / small['seconds']:.1f} x the time, "
          f"peak RSS {large['peak_rss_mb'] / small['peak_rss_mb']:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
