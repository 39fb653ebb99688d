"""Reads compiled once (`core.compiled.CompiledRead`) vs the same reads through the ORM, in one process.

Not a test (pytest does not collect bench/). Usage, from the project root:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench_compiled \
        DEBUG=true .venv/bin/python bench/compiled_reads_bench.py [--runs 1000]

The named database is dropped (if present), created, used and dropped again. Both versions of each read run
alternately in rounds (a shared machine's load moves); prints the median µs per read of each and their ratio,
and asserts that both return the same rows:

- the request's user and role (`accounts.authentication.read_user`, every authenticated request);
- a lot-tracked row's book of 5 lot balances (`inventory.services.lots.LotBook`, every lot-tracked take).
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib  # noqa: E402 - bench/ is not a package


def _per_read(read, runs: int) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        read()
    return (time.perf_counter() - started) / runs * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inv_bench_compiled"))
    parser.add_argument("--runs", type=int, default=1000, help="reads per version and round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    loadlib.recreate_postgres(args.database_url)
    try:
        loadlib.setup_django(loadlib.server_environment(args.database_url, loadlib.new_secret()))
        from django.db import connection

        from accounts.authentication import read_user
        from accounts.models import User
        from inventory.lots import StockLot, fefo_order, today
        from inventory.models import Product
        from inventory.services import assign_stock
        from inventory.services.lots import LotBook

        admin, _, warehouse = loadlib.migrated_world("Compiled reads bench")
        product = Product.objects.create(sku="LOTS", name="Lots", tracking=Product.Tracking.LOT)
        for code, days in (("E3", 3), ("E1", 1), ("N5", None), ("E4", 4), ("E2", 2)):
            stock = assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=10, lot=code,
                                 expires_on=None if days is None else today() + datetime.timedelta(days=days))

        def orm_user():
            return User.objects.select_related("role").filter(pk=admin.pk).first()

        def orm_book():
            return list(StockLot.objects.filter(stock=stock).select_related("lot").order_by(*fefo_order("lot__")))

        reads = {
            "user and role": (orm_user, lambda: read_user(admin.pk)),
            "lot book (5 lots)": (orm_book, lambda: LotBook(stock)),
        }
        mine = read_user(admin.pk)
        assert [(f.attname, getattr(mine, f.attname)) for f in User._meta.concrete_fields] == [
            (f.attname, getattr(orm_user(), f.attname)) for f in User._meta.concrete_fields]
        assert [(b.pk, b.quantity, b.lot.code) for b in LotBook(stock).balances.values()] == [
            (b.pk, b.quantity, b.lot.code) for b in orm_book()]
        print(f"{connection.vendor}; python {sys.version.split()[0]}; load {os.getloadavg()[0]:.2f}; "
              f"{args.runs} reads per version and round, {args.rounds} rounds")
        print(f"\n{'read':<20}{'ORM µs':>10}{'compiled µs':>13}{'compiled/ORM':>14}")
        for name, (orm, compiled) in reads.items():
            orm(), compiled()
            timings = {"orm": [], "compiled": []}
            for _ in range(args.rounds):
                timings["orm"].append(_per_read(orm, args.runs))
                timings["compiled"].append(_per_read(compiled, args.runs))
            before, after = statistics.median(timings["orm"]), statistics.median(timings["compiled"])
            print(f"{name:<20}{before:>10.0f}{after:>13.0f}{after / before:>14.2f}")
        connection.close()
    finally:
        loadlib.close_and_drop(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
