"""List throughput: `GET /api/stocks/?page_size=200` vs a plain `JsonResponse` of `.values()` of the same rows.

Not a test (pytest does not collect bench/). Usage, from the project root (`make bench-list`):

    DEBUG=true .venv/bin/python bench/list_bench.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench_list DEBUG=true .venv/bin/python bench/list_bench.py

The named PostgreSQL database is dropped (if present), created, used and dropped again. One gunicorn
(the repository's gunicorn.conf.py) serves both: the product's URLs plus, from the bench-only
`bench_urls` module (settings `bench_settings`), `/bench/stocks-values/`, which authenticates the same
way, runs the same query (`stock_levels_for`, same order) and count, and returns `.values()` of the page
as a `JsonResponse`: no DRF view, serializer or paginator. Same load tool, same clients, alternated
rounds (API, baseline, API, ...) so drift on a shared machine hits both; best round of each kept.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib  # noqa: E402 - bench/ is not a package

PAGE = 200
API = f"/api/stocks/?page_size={PAGE}"
BASELINE = f"/bench/stocks-values/?page_size={PAGE}"


def _prepare(warehouses: int, products: int) -> str:
    """A viewer, `warehouses` × `products` stock rows (no movements: quantity 0), thresholds on a tenth."""
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Role, User
    from inventory.models import LowStockThreshold, Product, Stock
    from warehouses.models import Warehouse

    call_command("migrate", verbosity=0)
    viewer = User.objects.create_user(username="bench-viewer", email="v@example.com", password="x" * 12,
                                      role=Role.get(Role.Name.VIEWER), status=User.Status.ACTIVE)
    houses = Warehouse.objects.bulk_create(Warehouse(code=f"W{i:03d}", name=f"Warehouse {i}")
                                           for i in range(warehouses))
    items = Product.objects.bulk_create(Product(sku=f"SKU-{i:05d}", name=f"Product number {i}")
                                        for i in range(products))
    Stock.objects.bulk_create(Stock(warehouse=w, product=p) for w in houses for p in items)
    LowStockThreshold.objects.bulk_create(LowStockThreshold(warehouse=w, product=p, threshold=5)
                                          for w in houses for p in items[::10])
    return str(AccessToken.for_user(viewer))


def _getter(path: str):
    def work(client, _job):
        status, body = client.call("GET", path)
        return str(status), len(body["results"]) if status == 200 else None
    return work


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inv_bench_list"))
    parser.add_argument("-n", type=int, default=400, help="requests per round (default 400)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warehouses", type=int, default=10)
    parser.add_argument("--products", type=int, default=500)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this benchmark runs on PostgreSQL")

    env = loadlib.server_environment(args.database_url, loadlib.new_secret())
    loadlib.recreate_postgres(args.database_url)
    log_dir = tempfile.TemporaryDirectory(prefix="list-bench-")
    server = None
    rounds = {API: [], BASELINE: []}
    try:
        loadlib.setup_django(env)
        from django.db import connection

        token = _prepare(args.warehouses, args.products)
        connection.close()
        server = loadlib.Gunicorn(env, log_dir.name, settings_module="bench_settings")
        print(f"python {sys.version.split()[0]}; cpus {os.cpu_count()}; load {os.getloadavg()[0]:.2f}; "
              f"{args.warehouses * args.products} stock rows; page {PAGE}; {args.clients} clients; "
              f"{args.n} requests x {args.rounds} rounds per endpoint")
        drive = dict(clients=args.clients, port=server.port, token=token)
        for path in (API, BASELINE):  # warm-up, and the two must answer the same rows
            seconds, counts, sizes = loadlib.drive(list(range(50)), work=_getter(path), **drive)
            assert counts == {"200": 50} and set(sizes) == {PAGE}, (path, counts, set(sizes))
        for _ in range(args.rounds):
            for path in (API, BASELINE):
                seconds, counts, _sizes = loadlib.drive(list(range(args.n)), work=_getter(path), **drive)
                assert counts == {"200": args.n}, counts
                rounds[path].append(args.n / seconds)
    finally:
        if server is not None:
            server.stop()
        loadlib.close_and_drop(args.database_url)
        log_dir.cleanup()

    api, baseline = max(rounds[API]), max(rounds[BASELINE])
    print(f"\n{'endpoint':<40}{'best req/s':>11}   all rounds")
    print(f"{'GET ' + API:<40}{api:>11.1f}   {[round(r, 1) for r in rounds[API]]}")
    print(f"{'baseline ' + BASELINE:<40}{baseline:>11.1f}   {[round(r, 1) for r in rounds[BASELINE]]}")
    print(f"API / baseline = {api / baseline:.2f}   (rows/s: API {api * PAGE:.0f}, baseline {baseline * PAGE:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
