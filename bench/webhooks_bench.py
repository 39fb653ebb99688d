"""Hot-row purchase approvals over HTTP with 3 subscribed webhook endpoints vs none, in the same run.

Not a test (pytest does not collect bench/). Needs PostgreSQL. Usage, from the project root:

    DEBUG=true .venv/bin/python bench/webhooks_bench.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/inv_bench_hooks \
        DEBUG=true .venv/bin/python bench/webhooks_bench.py -n 400 --clients 8

The named database is dropped (if present), created, used and dropped again. gunicorn runs with the
repository's gunicorn.conf.py (DEBUG off). Every approval deducts one unit from ONE stock row (the hot row:
every transaction waits for the row lock), so the in-transaction cost of the webhook outbox is what
differs: with 3 active endpoints subscribed to every event, each approval writes its `stock.changed` event
row (and the approval's `purchase_request.decided` once the workflows emit it); with none, it asks one
query and writes nothing. Rounds alternate none / three (`--pairs` times), so a drift of the machine's load
hits both. No worker runs during the rounds (fan-out and delivery are the worker's, after the fact): the
events are counted at the end. Prints approvals/s per round and the ratio three/none (target ≥ 0.8).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadlib  # noqa: E402 - bench/ is not a package
from cryptography.fernet import Fernet  # noqa: E402

WARM_UP = 100


def _prepare(n: int, rounds: int) -> dict:
    from rest_framework_simplejwt.tokens import AccessToken

    from inventory.models import Product
    from inventory.services import assign_stock

    admin, viewer, warehouse = loadlib.migrated_world("Webhooks bench")
    product = Product.objects.create(sku="HOT-1", name="Hot")
    assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=n * rounds + 2 * WARM_UP)
    return {"admin": admin, "viewer": viewer, "warehouse": warehouse.pk, "product": product.pk,
            "token": str(AccessToken.for_user(admin))}


def _pending_requests(world: dict, n: int) -> list[int]:
    from workflows.models import PurchaseRequest

    made = PurchaseRequest.objects.bulk_create(
        PurchaseRequest(warehouse_id=world["warehouse"], product_id=world["product"], quantity=1,
                        requested_by=world["viewer"], reason="bench") for _ in range(n))
    return [request.pk for request in made]


def _approve(client, request_id):
    status, body = client.call("POST", "/api/purchase-requests/approve/", {"id": request_id, "decision": "approve"})
    return str(status) if status == 200 else f"{status} {body.get('code', '') if isinstance(body, dict) else ''}", None


def _set_endpoints(world: dict, active: bool) -> None:
    from webhooks import services
    from webhooks.models import WebhookEndpoint

    if not WebhookEndpoint.objects.exists():
        for i in range(3):
            services.create_endpoint(actor=world["admin"], url=f"http://127.0.0.1:9/hook-{i}", events=["*"])
    WebhookEndpoint.objects.update(is_active=active)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inv_bench_hooks"))
    parser.add_argument("-n", type=int, default=400, help="approvals per round (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--pairs", type=int, default=3, help="rounds of none then three (default 3)")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this benchmark needs PostgreSQL (row locks are what it measures)")
    plan = ["none", "three"] * args.pairs
    env = loadlib.server_environment(
        args.database_url, loadlib.new_secret(),
        WEBHOOK_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        WEBHOOK_ALLOW_PRIVATE_NETWORKS="true", WEBHOOK_ALLOW_HTTP_HOSTS="127.0.0.1")
    loadlib.recreate_postgres(args.database_url)
    log_dir = tempfile.TemporaryDirectory(prefix="webhooks-bench-")
    server = None
    results = []
    try:
        loadlib.setup_django(env)
        from django.db import connection

        from webhooks.models import WebhookEvent

        world = _prepare(args.n, len(plan))
        _set_endpoints(world, active=False)
        connection.close()
        server = loadlib.Gunicorn(env, log_dir.name)
        print(f"python {sys.version.split()[0]}; cpus {os.cpu_count()}; load {os.getloadavg()[0]:.2f}; "
              f"{args.clients} clients; N = {args.n} approvals per round, one stock row")
        drive = dict(clients=args.clients, port=server.port, token=world["token"])
        for active in (False, True):  # warm-up, unmeasured: both code paths in every worker
            _set_endpoints(world, active=active)
            jobs = _pending_requests(world, WARM_UP)
            connection.close()
            loadlib.drive(jobs, work=_approve, **drive)
        for name in plan:
            _set_endpoints(world, active=name == "three")
            before = WebhookEvent.objects.count()
            jobs = _pending_requests(world, args.n)
            connection.close()
            seconds, counts, _ = loadlib.drive(jobs, work=_approve, **drive)
            assert counts == {"200": args.n}, counts
            events = WebhookEvent.objects.count() - before
            results.append((name, args.n / seconds, seconds, events))
            connection.close()
        server.stop()
        server = None
    finally:
        if server is not None:
            server.stop()
        loadlib.close_and_drop(args.database_url)
        log_dir.cleanup()

    print(f"\n{'round':<8}{'endpoints':>10}{'seconds':>9}{'approvals/s':>13}{'events written':>16}")
    for i, (name, rate, seconds, events) in enumerate(results, 1):
        print(f"{i:<8}{name:>10}{seconds:>9.2f}{rate:>13.1f}{events:>16}")
    none = [rate for name, rate, *_ in results if name == "none"]
    three = [rate for name, rate, *_ in results if name == "three"]
    ratio = (sum(three) / len(three)) / (sum(none) / len(none))
    print(f"\nratio three/none (mean of the rounds): {ratio:.2f} (target >= 0.8)")
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"total wall time {time.time() - started:.0f} s")
    sys.exit(code)
