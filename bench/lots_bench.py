"""Hot-row purchase approvals on a lot-tracked row holding 5 lots vs the same on an untracked row (SPEC §14).

Not a test (pytest does not collect bench/). Needs PostgreSQL (row locks are the point). Usage, from the
project root:

    DEBUG=true .venv/bin/python bench/lots_bench.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench_lots \
        DEBUG=true .venv/bin/python bench/lots_bench.py -n 100 --clients 8 --rounds 6

The named database is dropped (if present), created, used and dropped again: give a name nobody else
uses. `--clients` processes (forked, like gunicorn's workers), each with its own database connection,
call the service a purchase approval calls (`workflows.services.decide_purchase_request`: lock the request,
lock the stock row, take the units, write the ledger, audit) with no HTTP in between, so the lot bookkeeping
(read the row's lot balances, take FEFO, update one lot balance, one movement naming its lot) is the largest
share it can be: the strictest
comparison. Each round runs both scenarios back to back, alternating which goes first (many short rounds:
on a shared machine the load moves, and each round's ratio compares two runs a few seconds apart):

- untracked: one stock row holding N/2 units, N pending requests of 1 unit;
- lots: one stock row of a lot-tracked product holding the same N/2 units in 5 lots (different expiry dates,
  created out of FEFO order), N pending requests of 1 unit.

Exactness (asserted every run): exactly N/2 approved and N/2 refused `insufficient_stock` per scenario, every
row and lot balance ends at 0, the lots were emptied strictly in FEFO order, and `verify_ledger` passes.
Prints decisions/s per scenario and round, each round's ratio lots/untracked, their median, and the ratio of
the totals (target ≥ 0.8).
"""

import argparse
import datetime
import multiprocessing
import os
import queue
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib  # noqa: E402 - bench/ is not a package

LOTS = 5


def _world() -> dict:


    admin, viewer, warehouse = loadlib.migrated_world("Lots bench")
    return {"admin": admin, "viewer": viewer, "warehouse": warehouse}


def _scenario(world: dict, name: str, n: int, *, lots: bool) -> tuple:
    """A product whose one row holds n/2 units (in 5 lots if `lots`), and n pending requests of 1 unit."""
    from inventory.lots import today
    from inventory.models import Product
    from inventory.services import assign_stock
    from workflows.models import PurchaseRequest

    tracking = Product.Tracking.LOT if lots else Product.Tracking.NONE
    product = Product.objects.create(sku=name, name=name, tracking=tracking)
    units = n // 2
    if lots:
        # Created out of FEFO order (FEFO: E1, E2, E3, E4, then N5 without a date).
        for code, days in (("E3", 3), ("E1", 1), ("N5", None), ("E4", 4), ("E2", 2)):
            share = units // LOTS  # n is a multiple of 2 × LOTS
            expires_on = None if days is None else today() + datetime.timedelta(days=days)
            assign_stock(actor=world["admin"], warehouse=world["warehouse"], product=product, quantity=share,
                         lot=code, expires_on=expires_on)
    else:
        assign_stock(actor=world["admin"], warehouse=world["warehouse"], product=product, quantity=units)
    made = PurchaseRequest.objects.bulk_create(
        PurchaseRequest(warehouse=world["warehouse"], product=product, quantity=1, requested_by=world["viewer"],
                        reason="bench") for _ in range(n))
    return product, [request.pk for request in made]


def _client(world: dict, jobs, results, ready) -> None:
    """One client process: its own connection; approve requests from the shared queue until it is empty."""
    from django.db import connection

    from core.errors import DomainError
    from workflows.services import decide_purchase_request

    mine: dict[str, int] = {}
    try:
        connection.ensure_connection()
        ready.wait()
        while True:
            try:
                pk = jobs.get_nowait()
            except queue.Empty:
                break
            try:
                decide_purchase_request(actor=world["admin"], request_id=pk, decision="approve")
                outcome = "approved"
            except DomainError as error:
                outcome = error.code
            mine[outcome] = mine.get(outcome, 0) + 1
    finally:
        connection.close()
        results.put(mine)


def _drive(world: dict, request_ids: list[int], clients: int) -> tuple[float, dict]:
    """Approve every request from `clients` processes (as gunicorn's workers are: no shared interpreter lock)
    released together; (seconds, outcome counts)."""
    from django.db import connections

    connections.close_all()  # forked children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    jobs, results = context.Queue(), context.Queue()
    for pk in request_ids:
        jobs.put(pk)
    time.sleep(0.2)  # the queue's feeder thread has handed every id over
    ready = context.Barrier(clients + 1)
    processes = [context.Process(target=_client, args=(world, jobs, results, ready)) for _ in range(clients)]
    for process in processes:
        process.start()
    ready.wait()
    started = time.perf_counter()
    counts: dict[str, int] = {}
    for _ in processes:
        for key, value in results.get(timeout=600).items():
            counts[key] = counts.get(key, 0) + value
    seconds = time.perf_counter() - started
    for process in processes:
        process.join(timeout=60)
    return seconds, counts


def _check(product, n: int, counts: dict, *, lots: bool) -> None:
    from inventory.lots import StockLot
    from inventory.models import Stock, StockMovement

    assert counts == {"approved": n // 2, "insufficient_stock": n // 2}, counts
    stock = Stock.objects.get(product=product)
    assert (stock.quantity, stock.reserved) == (0, 0), (stock.quantity, stock.reserved)
    if lots:
        assert set(StockLot.objects.filter(stock=stock).values_list("quantity", flat=True)) == {0}
        taken = list(StockMovement.objects.filter(stock=stock, kind="purchase").order_by("pk")
                     .values_list("lot__code", flat=True))
        assert taken == sorted(taken, key=["E1", "E2", "E3", "E4", "N5"].index), "not emptied in FEFO order"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inv_bench_lots"))
    parser.add_argument("-n", type=int, default=100, help="requests per scenario and round (default 100)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes (default 8)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of both scenarios (default 6)")
    args = parser.parse_args()
    n = args.n - args.n % (2 * LOTS)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this benchmark needs PostgreSQL (row locks are what it measures)")

    env = loadlib.server_environment(args.database_url, loadlib.new_secret())
    loadlib.recreate_postgres(args.database_url)
    totals = {"untracked": [0, 0.0], "lots": [0, 0.0]}
    rows = []
    try:
        loadlib.setup_django(env)
        from django.core.management import call_command
        from django.db import connection

        world = _world()
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            pg_version = cursor.fetchone()[0].split(" on ")[0]
        print(f"{pg_version}; python {sys.version.split()[0]}; cpus {os.cpu_count()}; "
              f"load {os.getloadavg()[0]:.2f}; {args.clients} clients; N = {n} per scenario and round; "
              f"{args.rounds} rounds")
        # Warm-up, unmeasured: both code paths once per client.
        for kind in ("untracked", "lots"):
            warm = 2 * LOTS * max(2, args.clients)
            product, jobs = _scenario(world, f"WARM-{kind}", warm, lots=kind == "lots")
            _drive(world, jobs, args.clients)
        for round_ in range(args.rounds):
            order = ("untracked", "lots") if round_ % 2 == 0 else ("lots", "untracked")
            for kind in order:
                product, jobs = _scenario(world, f"{kind.upper()}-{round_}", n, lots=kind == "lots")
                connection.close()
                seconds, counts = _drive(world, jobs, args.clients)
                _check(product, n, counts, lots=kind == "lots")
                totals[kind][0] += n
                totals[kind][1] += seconds
                rows.append((round_ + 1, kind, n, seconds, n / seconds))
        from io import StringIO

        out = StringIO()
        call_command("verify_ledger", stdout=out)  # CommandError on any mismatch
        ledger = out.getvalue().strip().splitlines()[-1]
        connection.close()
    finally:
        loadlib.close_and_drop(args.database_url)

    print(f"\n{'round':<7}{'untracked/s':>12}{'lots/s':>9}{'lots/untracked':>16}")
    ratios = []
    for round_ in range(1, args.rounds + 1):
        rate = {kind: r for number, kind, _, _, r in rows if number == round_}
        ratios.append(rate["lots"] / rate["untracked"])
        print(f"{round_:<7}{rate['untracked']:>12.1f}{rate['lots']:>9.1f}{ratios[-1]:>16.3f}")
    untracked = totals["untracked"][0] / totals["untracked"][1]
    lots = totals["lots"][0] / totals["lots"][1]
    print(f"\nall rounds: untracked {untracked:.1f}/s, lots {lots:.1f}/s; ratio of the totals {lots / untracked:.3f}, "
          f"median of the rounds' ratios {statistics.median(ratios):.3f} (target ≥ 0.8)")
    print(f"exact: each scenario {n // 2} approved, {n // 2} refused insufficient_stock, rows and lots at 0, "
          f"lots emptied in FEFO order; verify_ledger: {ledger}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
