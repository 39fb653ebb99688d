"""Benchmark of the stock-movement report (PDF and CSV) at 10 000 and 100 000 movements.

Not a test (pytest does not collect bench/). Usage, from the project root:

    .venv/bin/python bench/reports_bench.py                       # throwaway SQLite file in a temp dir
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench .venv/bin/python bench/reports_bench.py

With PostgreSQL the named database is dropped (if present), created, used and dropped again: give a
name nobody else uses. Steps: migrate; bulk-insert a consistent ledger (running `quantity_after`, Stock
balances to match) of 10 000 movements in January 2026 and 100 000 in March 2026; generate each
month's PDF and CSV through the code the view uses (`build_report`, `movement_rows`,
`write_report_pdf`, `csv_lines`), each generation in its own subprocess so its peak RSS is its own;
then a baseline: the same movement columns as a ReportLab platypus `Table` of 5 000 rows.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from loadlib import best_of_children, peak_rss_mb, recreate_postgres  # bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_project.settings")

MONTHS = {10_000: (2026, 1), 100_000: (2026, 3)}
PRODUCTS = 200
BASELINE_ROWS = 5_000


def _setup_django(database_url: str):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("TIME_ZONE", "Europe/Berlin")
    import django

    django.setup()



# --- database ---------------------------------------------------------------------------------------



def _populate(count: int, year: int, month: int):
    """Append `count` movements spread over the month, consistent with the balances so far."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from inventory.models import Product, Stock, StockMovement
    from warehouses.models import Warehouse

    tz = timezone.get_default_timezone()
    admin = User.objects.get(username="bench-admin")
    stocks = list(Stock.objects.select_related(None).order_by("pk"))
    balances = {s.pk: s.quantity for s in stocks}
    meta = {s.pk: (s.warehouse_id, s.product_id) for s in stocks}
    rng = random.Random(count)
    start = datetime(year, month, 1, tzinfo=tz)
    step = timedelta(days=27) / count
    batch = []
    with transaction.atomic():
        for i in range(count):
            stock_id = stocks[rng.randrange(len(stocks))].pk
            balance = balances[stock_id]
            change = rng.randint(1, 50) if balance < 60 or rng.random() < 0.5 else -rng.randint(1, 50)
            if change > 0:
                kind = "assign" if i % 7 == 0 else "adjust"
            else:
                kind = "purchase" if i % 2 else "adjust"
            balance += change
            balances[stock_id] = balance
            warehouse_id, product_id = meta[stock_id]
            reference = ("purchase_request", i + 1) if kind == "purchase" else (None, None)
            batch.append(StockMovement(
                stock_id=stock_id, warehouse_id=warehouse_id, product_id=product_id, kind=kind,
                quantity_change=change, quantity_after=balance, actor=admin, reference_type=reference[0],
                reference_id=reference[1], reason="count" if kind == "adjust" else "",
                created_at=start + step * i,
            ))
            if len(batch) == 5000:
                StockMovement.objects.bulk_create(batch)
                batch = []
        StockMovement.objects.bulk_create(batch)
        for stock_id, balance in balances.items():  # test data: balances set to match the ledger written
            Stock.objects.filter(pk=stock_id).update(quantity=balance)
    assert Warehouse.objects.exists() and Product.objects.exists()


def _prepare():
    from django.core.management import call_command

    from accounts.models import User
    from inventory.models import Product, Stock
    from warehouses.models import Warehouse

    call_command("migrate", verbosity=0)
    User.objects.create_superuser("bench-admin", "bench@example.com", "x")
    warehouses = [Warehouse.objects.create(code=f"W{i}", name=f"Warehouse {i}") for i in range(2)]
    products = Product.objects.bulk_create(
        Product(sku=f"SKU-{i:05d}", name=f"Product number {i} with a fairly long descriptive name")
        for i in range(PRODUCTS))
    Stock.objects.bulk_create(Stock(warehouse=w, product=p) for w in warehouses for p in products)


# --- one generation (runs in a subprocess) -------------------------------------------------------------

def _generate(fmt: str, year: int, month: int, compression: int) -> dict:
    from datetime import date

    from django.utils import timezone

    from reports import pdf as report_pdf
    from reports.exports import csv_lines
    from reports.selectors import build_report, movement_rows, period_containing

    report_pdf.PAGE_COMPRESSION = compression
    period = period_containing(kind="monthly", day=date(year, month, 1))
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        report = build_report(period=period, warehouse_ids=None, warehouse_label="all warehouses")
        if fmt == "pdf":
            rows = report_pdf.write_report_pdf(report, movement_rows(report), out, warehouses="all warehouses",
                                               generated_by="bench-admin", generated_at=timezone.localtime())
        else:
            rows = -1  # the header
            for chunk in csv_lines(movement_rows(report)):
                out.write(chunk.encode())
                rows += chunk.count("\n")
        seconds = time.perf_counter() - began
        size = out.tell()
    assert rows == report.movement_count, (rows, report.movement_count)
    return {"format": fmt, "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "bytes": size,
            "peak_rss_mb": peak_rss_mb()}


def _baseline() -> dict:
    """ReportLab platypus Table with the same ten columns, header repeated on each page."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

    data = [["Time", "Warehouse", "SKU", "Product", "Kind", "Change", "After", "Actor", "Reference", "Reason"]]
    for i in range(BASELINE_ROWS):
        data.append(["2026-01-01 10:00:00", "W1", f"SKU-{i % PRODUCTS:05d}", "Product number 1 with a fairly",
                     "adjust", str(i % 50 - 25), str(i), "bench-admin", f"purchase_request:{i}", "count"])
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        doc = SimpleDocTemplate(out, pagesize=landscape(A4))
        table = Table(data, repeatRows=1, colWidths=[78, 58, 86, 164, 56, 56, 62, 86, 96, 44])
        table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 7), ("LEADING", (0, 0), (-1, -1), 9)]))
        doc.build([table])
        seconds = time.perf_counter() - began
    return {"format": "platypus-table", "rows": BASELINE_ROWS, "seconds": seconds,
            "rows_per_s": BASELINE_ROWS / seconds, "peak_rss_mb": peak_rss_mb()}


def _child(args) -> int:
    _setup_django(args.database_url)
    result = _baseline() if args.child == "baseline" else _generate(args.child, args.year, args.month,
                                                                      args.page_compression)
    print(json.dumps(result))
    return 0


def _run_child(database_url: str, what: str, *extra: str, repeat: int = 1) -> dict:
    """Best of `repeat` runs (the fastest; the machine is shared), each in a fresh process."""
    return best_of_children(__file__, database_url, what, *extra, repeat=repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["pdf", "csv", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--year", type=int, default=2026, help=argparse.SUPPRESS)
    parser.add_argument("--month", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--page-compression", type=int, choices=[0, 1], default=1,
                        help="ReportLab pageCompression for the PDF (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept (default 3)")
    args = parser.parse_args()
    if args.child:
        return _child(args)

    tmp = tempfile.TemporaryDirectory(prefix="reports-bench-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        recreate_postgres(url)
    try:
        _setup_django(url)
        from django.db import connection

        print(f"database: {connection.vendor}   python {sys.version.split()[0]}   cpus {os.cpu_count()}   "
              f"pageCompression {args.page_compression}")
        _prepare()
        results = {}
        for count, (year, month) in MONTHS.items():
            began = time.perf_counter()
            _populate(count, year, month)
            print(f"inserted {count:>7} movements in {time.perf_counter() - began:6.1f} s")
            connection.close()  # the children open their own connections
            for fmt in ("pdf", "csv"):
                results[(fmt, count)] = _run_child(url, fmt, "--year", str(year), "--month", str(month),
                                                   "--page-compression", str(args.page_compression),
                                                   repeat=args.repeat)
        baseline = _run_child(url, "baseline", repeat=args.repeat)
    finally:
        if postgres:
            from django.db import connections

            connections.close_all()
            recreate_postgres(url, drop_only=True)
        tmp.cleanup()

    print(f"\nbest of {args.repeat} runs per line (all runs' seconds in brackets)")
    print(f"{'format':<16}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'MB out':>9}{'peak RSS MB':>13}")
    for (fmt, _count), r in results.items():
        print(f"{fmt:<16}{r['rows']:>9}{r['seconds']:>10.2f}{r['rows_per_s']:>10.0f}{r['bytes'] / 1e6:>9.1f}"
              f"{r['peak_rss_mb']:>13.0f}   {r['all_seconds']}")
    b = baseline
    print(f"{'platypus Table':<16}{b['rows']:>9}{b['seconds']:>10.2f}{b['rows_per_s']:>10.0f}{'':>9}"
          f"{b['peak_rss_mb']:>13.0f}   {b['all_seconds']}")
    for fmt in ("pdf", "csv"):
        ratio = results[(fmt, 100_000)]["seconds"] / results[(fmt, 10_000)]["seconds"]
        print(f"{fmt}: time(100k) / time(10k) = {ratio:.2f}")
    speedup = results[("pdf", 100_000)]["rows_per_s"] / b["rows_per_s"]
    print(f"pdf speed at 100k = {speedup:.1f} x the platypus Table baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
