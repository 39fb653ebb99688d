"""Hot-row decisions over HTTP: purchase approvals and reservations, spread vs one row, against real baselines.

Not a test (pytest does not collect bench/). Needs PostgreSQL (row locks are the point). Usage, from the
project root (`make bench-hot-row`):

    DEBUG=true .venv/bin/python bench/hot_row_bench.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench_hot \
        DEBUG=true .venv/bin/python bench/hot_row_bench.py -n 800 --clients 16

The named database is dropped (if present), created, used and dropped again: give a name nobody else
uses. gunicorn runs with the repository's gunicorn.conf.py (DEBUG off, persistent connections, throttle
counters in Redis when it answers at 127.0.0.1:6379). Clients: `--clients` threads, each with its own
keep-alive connection, loopback only, every run bounded in time. In the same run:

- baseline 1: an authenticated `GET /api/profile/` (JWT check + the user row: the cheapest real request);
- purchase requests: N pending requests of 1 unit approved over HTTP, spread over 16 stock rows (each
  holding N units), then N on one row holding N/2 (exactly N/2 approved, the rest 409 insufficient_stock);
- reservations: N × (create 1 unit, then fulfil it), spread and hot in the same way;
- baseline 2 (the physical limit): pgbench, one-line script updating one row, same client count, same
  database;
- `verify_ledger` at the end: every balance equals the sum of its movements.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib  # noqa: E402 - bench/ is not a package

SPREAD_ROWS = 16
WARM_UP = 100  # unmeasured approvals and reservations first, so no measured run pays for cold workers


def _prepare(n: int) -> dict:
    """Users, one warehouse, the stock rows of each scenario (through `assign_stock`: a real ledger)."""
    from rest_framework_simplejwt.tokens import AccessToken

    from inventory.models import Product
    from inventory.services import assign_stock

    admin, viewer, warehouse = loadlib.migrated_world("Hot-row bench")

    def rows(prefix: str, count: int, quantity: int) -> list[int]:
        products = [Product.objects.create(sku=f"{prefix}-{i:02d}", name=f"{prefix} {i}") for i in range(count)]
        for product in products:
            assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=quantity)
        return [p.pk for p in products]

    return {
        "admin": admin, "viewer": viewer, "warehouse": warehouse.pk,
        "token": str(AccessToken.for_user(admin)),
        "purchase-spread": rows("PS", SPREAD_ROWS, n), "purchase-hot": rows("PH", 1, n // 2),
        "reserve-spread": rows("RS", SPREAD_ROWS, n), "reserve-hot": rows("RH", 1, n // 2),
        "warm-up": rows("WU", SPREAD_ROWS, 10 * WARM_UP),
    }


def _pending_requests(world: dict, products: list[int], n: int) -> list[int]:
    from workflows.models import PurchaseRequest

    made = PurchaseRequest.objects.bulk_create(
        PurchaseRequest(warehouse_id=world["warehouse"], product_id=products[i % len(products)], quantity=1,
                        requested_by=world["viewer"], reason="bench") for i in range(n))
    return [request.pk for request in made]


def _approve(client, request_id):
    status, body = client.call("POST", "/api/purchase-requests/approve/", {"id": request_id, "decision": "approve"})
    if status == 409:
        return f"409 {body['code']}", None
    return str(status), None


def _reserve_and_fulfil(warehouse: int):
    def work(client, product):
        status, body = client.call("POST", "/api/reservations/",
                                   {"warehouse": warehouse, "product": product, "quantity": 1})
        if status != 201:
            return f"reserve {status} {body.get('code', '') if isinstance(body, dict) else ''}".strip(), None
        status, body = client.call("POST", f"/api/reservations/{body['id']}/fulfil/", {})
        return f"reserve 201, fulfil {status}", None
    return work


def _profile(client, _job):
    status, _body = client.call("GET", "/api/profile/")
    return str(status), None


def _verify_ledger() -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("verify_ledger", stdout=out)  # CommandError on any mismatch
    return out.getvalue().strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inv_bench_hot"))
    parser.add_argument("-n", type=int, default=800, help="requests per scenario (even; default 800)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    n = args.n - args.n % 2
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this benchmark needs PostgreSQL (row locks are what it measures)")

    env = loadlib.server_environment(args.database_url, loadlib.new_secret())
    loadlib.recreate_postgres(args.database_url)
    log_dir = tempfile.TemporaryDirectory(prefix="hot-row-bench-")
    server = None
    try:
        loadlib.setup_django(env)
        from django.db import connection

        from inventory.models import Stock
        from workflows.models import PurchaseRequest

        world = _prepare(n)
        connection.close()
        server = loadlib.Gunicorn(env, log_dir.name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            pg_version = cursor.fetchone()[0].split(" on ")[0]
        print(f"{pg_version}; python {sys.version.split()[0]}; cpus {os.cpu_count()}; load {os.getloadavg()[0]:.2f}; "
              f"gunicorn.conf.py (workers {env.get('WEB_CONCURRENCY', '2 x cores + 1')}, threads "
              f"{os.environ.get('GUNICORN_THREADS', '4')}); throttle cache "
              f"{'redis' if 'REDIS_URL' in env else 'database'}; {args.clients} clients; N = {n}")
        drive = dict(clients=args.clients, port=server.port, token=world["token"])
        # Warm-up, unmeasured: every worker imports, connects and runs each code path once or more.
        loadlib.drive(list(range(200)), work=_profile, **drive)
        loadlib.drive(_pending_requests(world, world["warm-up"], WARM_UP), work=_approve, **drive)
        loadlib.drive(world["warm-up"] * (WARM_UP // SPREAD_ROWS), work=_reserve_and_fulfil(world["warehouse"]),
                      **drive)
        connection.close()

        results = {}
        seconds, counts, _ = loadlib.drive(list(range(n)), work=_profile, **drive)
        assert counts == {"200": n}, counts
        results["profile"] = (n, seconds, counts)

        for name in ("purchase-spread", "purchase-hot"):
            jobs = _pending_requests(world, world[name], n)
            connection.close()
            seconds, counts, _ = loadlib.drive(jobs, work=_approve, **drive)
            results[name] = (n, seconds, counts)
        for name in ("reserve-spread", "reserve-hot"):
            jobs = [world[name][i % len(world[name])] for i in range(n)]
            seconds, counts, _ = loadlib.drive(jobs, work=_reserve_and_fulfil(world["warehouse"]), **drive)
            results[name] = (n, seconds, counts)

        # Exactness: spread all approved; hot exactly N/2 approved, the rest refused, the hot rows empty.
        assert results["purchase-spread"][2] == {"200": n}, results["purchase-spread"][2]
        hot = results["purchase-hot"][2]
        assert hot == {"200": n // 2, "409 insufficient_stock": n // 2}, hot
        approved = PurchaseRequest.objects.filter(product_id__in=world["purchase-hot"], status="approved").count()
        assert approved == n // 2, approved
        assert results["reserve-spread"][2] == {"reserve 201, fulfil 200": n}, results["reserve-spread"][2]
        assert results["reserve-hot"][2] == {"reserve 201, fulfil 200": n // 2,
                                             "reserve 409 insufficient_stock": n // 2}, results["reserve-hot"][2]
        for product in world["purchase-hot"] + world["reserve-hot"]:
            stock = Stock.objects.get(product_id=product)
            assert (stock.quantity, stock.reserved) == (0, 0), (stock.quantity, stock.reserved)
        ledger = _verify_ledger()
        connection.close()
        server.stop()
        server = None
        pgbench = loadlib.pgbench_one_row(args.database_url, clients=args.clients, seconds=args.pgbench_seconds)
    finally:
        if server is not None:
            server.stop()
        loadlib.close_and_drop(args.database_url)
        log_dir.cleanup()

    profile_rate = results["profile"][0] / results["profile"][1]
    print(f"\n{'scenario':<18}{'requests':>9}{'HTTP calls':>11}{'seconds':>9}{'decisions/s':>13}"
          f"{'vs spread':>10}{'vs profile':>11}{'vs pgbench':>11}   outcomes")
    print(f"{'GET /api/profile/':<18}{n:>9}{n:>11}{results['profile'][1]:>9.2f}{profile_rate:>13.1f}"
          f"{'':>10}{1:>11.2f}{profile_rate / pgbench:>11.3f}   {dict(results['profile'][2])}")
    for name in ("purchase-spread", "purchase-hot", "reserve-spread", "reserve-hot"):
        count, seconds, counts = results[name]
        calls = count + (sum(v for k, v in counts.items() if "fulfil" in k) if name.startswith("reserve") else 0)
        rate = count / seconds
        spread_rate = results[name.replace("hot", "spread")][0] / results[name.replace("hot", "spread")][1]
        print(f"{name:<18}{count:>9}{calls:>11}{seconds:>9.2f}{rate:>13.1f}{rate / spread_rate:>10.2f}"
              f"{rate / profile_rate:>11.2f}{rate / pgbench:>11.3f}   {dict(counts)}")
    print(f"{'pgbench 1-row UPDATE':<18}{'':>9}{'':>11}{args.pgbench_seconds:>9}{pgbench:>13.1f}"
          f"{'':>10}{pgbench / profile_rate:>11.2f}{1:>11.3f}   (transactions/s, {args.clients} clients)")
    print(f"\nexact: purchase-hot approved {n // 2} of {n}; reserve-hot fulfilled {n // 2} of {n}; "
          f"hot rows end at quantity 0, reserved 0; verify_ledger: {ledger}")
    print("decisions/s: purchase = one approval per request; reserve = one reservation attempt per request "
          "(a successful one is two HTTP calls: create + fulfil)")
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"total wall time {time.time() - started:.0f} s")
    sys.exit(code)
