"""Hot-row purchase approvals over HTTP on a row with an active reorder rule (not crossing) vs one without.

Not a test (pytest does not collect bench/). Needs PostgreSQL (row locks are the point). Usage, from the
project root:

    DEBUG=true .venv/bin/python bench/replenishment_bench.py -n 300 --clients 8
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench_repl DEBUG=true \\
        .venv/bin/python bench/replenishment_bench.py

The named database is dropped (if present), created, used and dropped again: give a name nobody else uses.
gunicorn runs with the repository's gunicorn.conf.py, as in `hot_row_bench.py` (whose helpers this reuses).
Two rows of one warehouse each hold N units: "plain" has no rule; "ruled" has an active rule (min 0, max 1,
from another warehouse) that never crosses, so every approval on it pays the evaluation and records it
without creating anything. N pending requests of 1 unit are approved per run, alternating plain, ruled,
plain, ruled (`--rounds` of each), same server, same clients; the best run of each is compared. Target:
ruled ≥ 0.9 × plain. At the end: every request approved, both rows at 0, the rule's last evaluation
`not_needed` with quantity 0, no transfer request, `verify_ledger` clean.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib  # noqa: E402 - bench/ is not a package
from hot_row_bench import _approve, _pending_requests, _profile, _verify_ledger  # noqa: E402


def _prepare(n: int, rounds: int) -> dict:
    from rest_framework_simplejwt.tokens import AccessToken

    from inventory.models import Product
    from inventory.services import assign_stock
    from warehouses.models import Warehouse
    from workflows.services import create_rule

    admin, viewer, warehouse = loadlib.migrated_world("Hot-row bench")
    source = Warehouse.objects.create(code="SRC", name="Supplier")
    plain = Product.objects.create(sku="PLAIN", name="No rule")
    ruled = Product.objects.create(sku="RULED", name="With a rule")
    warm = Product.objects.create(sku="WARM", name="Warm-up")
    for product, units in ((plain, n * rounds), (ruled, n * rounds), (warm, 200)):
        assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=units)
    rule = create_rule(actor=admin, warehouse=warehouse, product=ruled, source_warehouse=source, min_quantity=0,
                       max_quantity=1)
    return {"admin": admin, "viewer": viewer, "warehouse": warehouse.pk, "plain": [plain.pk], "ruled": [ruled.pk],
            "warm": [warm.pk], "rule": rule.pk, "token": str(AccessToken.for_user(admin))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inv_bench_repl"))
    parser.add_argument("-n", type=int, default=300, help="approvals per run (default 300)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each kind, alternating (default 2)")
    args = parser.parse_args()
    n = args.n
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this benchmark needs PostgreSQL (row locks are what it measures)")

    env = loadlib.server_environment(args.database_url, loadlib.new_secret())
    loadlib.recreate_postgres(args.database_url)
    log_dir = tempfile.TemporaryDirectory(prefix="replenishment-bench-")
    server = None
    runs: dict[str, list[float]] = {"plain": [], "ruled": []}
    try:
        loadlib.setup_django(env)
        from django.db import connection

        from inventory.models import Stock
        from workflows.models import PurchaseRequest, ReorderRule, TransferRequest

        world = _prepare(n, args.rounds)
        connection.close()
        server = loadlib.Gunicorn(env, log_dir.name)
        print(f"python {sys.version.split()[0]}; cpus {os.cpu_count()}; load {os.getloadavg()[0]:.2f}; "
              f"{args.clients} clients; N = {n} per run; {args.rounds} round(s)")
        drive = dict(clients=args.clients, port=server.port, token=world["token"])
        loadlib.drive(list(range(100)), work=_profile, **drive)  # warm-up, unmeasured
        loadlib.drive(_pending_requests(world, world["warm"], 100), work=_approve, **drive)
        for _ in range(args.rounds):
            for name in ("plain", "ruled"):
                jobs = _pending_requests(world, world[name], n)
                connection.close()
                seconds, counts, _ = loadlib.drive(jobs, work=_approve, **drive)
                assert counts == {"200": n}, counts
                runs[name].append(seconds)
        for name in ("plain", "ruled"):
            assert Stock.objects.get(product_id=world[name][0]).quantity == 0
            assert PurchaseRequest.objects.filter(product_id=world[name][0], status="approved").count() == \
                n * args.rounds
        evaluation = ReorderRule.objects.get(pk=world["rule"]).last_evaluation
        assert (evaluation["outcome"], evaluation["quantity"]) == ("not_needed", 0), evaluation
        assert not TransferRequest.objects.exists()
        ledger = _verify_ledger()
        connection.close()
    finally:
        if server is not None:
            server.stop()
        loadlib.close_and_drop(args.database_url)
        log_dir.cleanup()

    plain, ruled = n / min(runs["plain"]), n / min(runs["ruled"])
    print(f"\n{'row':<8}{'approvals/s (best)':>20}   runs (seconds)")
    print(f"{'plain':<8}{plain:>20.1f}   {[round(s, 2) for s in runs['plain']]}")
    print(f"{'ruled':<8}{ruled:>20.1f}   {[round(s, 2) for s in runs['ruled']]}")
    print(f"\nratio ruled / plain = {ruled / plain:.2f} (target >= 0.9); verify_ledger: {ledger}")
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"total wall time {time.time() - started:.0f} s")
    sys.exit(code)
