"""Dashboards and the ledger at 1 M and 10 M movements (issue 15, items 3 and 4). Not a test.

    DEBUG=true .venv/bin/python bench/scale_bench.py                 # 1 M and 10 M (seeds what is missing)
    DEBUG=true .venv/bin/python bench/scale_bench.py --sizes 1000000  # 1 M only

PostgreSQL only. For each size it uses the database `<prefix>_<size>` (default prefix
`postgres://postgres@127.0.0.1:5432/inv_bench_scale`): if that database already holds a seeded ledger
of that size it is reused, else it is created, migrated and seeded with `seed_demo --movements N` (a
year of trade ending yesterday; 10 M takes about 15 minutes and 6 GB of disk), then VACUUM ANALYZEd.
`--drop` drops the databases at the end. Every figure is printed beside its baseline from the same run:

- admin and warehouse dashboard (30 days), the whole endpoint in-process (view, policy, serializer,
  renderer; authentication excluded), against (a) the same SQL statements replayed raw through the
  driver (the floor) and (b) the bare SQL aggregates the same figures need over the ledger itself
  (what the dashboards did before the daily roll-up); plus the query plans of the roll-up reads.
- `GET /api/stock-movements/?page_size=200`: the first page and the page 10 000 rows deep (cursor).
- `verify_ledger` over the whole ledger: seconds and movements per second.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadlib  # noqa: E402

PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "postgres://postgres@127.0.0.1:5432/inv_bench_scale")
REPEAT = 7
WINDOW_DAYS = 30


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else str(size)


def database_url(size: int) -> str:
    return f"{PREFIX}_{label(size)}"


def seeded_size(url: str) -> int | None:
    """Movements in the database at `url`, or None when it does not exist or is not migrated."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM inventory_stockmovement WHERE warehouse_id IN "
                               "(SELECT id FROM warehouses_warehouse WHERE code LIKE 'BW%%')").fetchone()
            return row[0]
    except psycopg.Error:
        return None


def prepare(size: int, env: dict) -> None:
    url = database_url(size)
    if seeded_size(url) == size:
        print(f"[{label(size)}] reusing {urlsplit(url).path[1:]} ({size} movements)", flush=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=loadlib.ROOT, env=env, check=True)
    else:
        print(f"[{label(size)}] seeding {urlsplit(url).path[1:]}: {size} movements", flush=True)
        loadlib.recreate_postgres(url)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=loadlib.ROOT, env=env, check=True)
        began = time.monotonic()
        subprocess.run([sys.executable, "manage.py", "seed_demo", "--movements", str(size)], cwd=loadlib.ROOT,
                       env=env, check=True)
        print(f"[{label(size)}] seeded in {time.monotonic() - began:.0f} s", flush=True)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def best(function, repeat: int = REPEAT) -> float:
    """Best of `repeat` timed calls after one warm-up, in milliseconds."""
    function()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times) * 1000


# --- the child: measures one database ---------------------------------------------------------------

LEDGER_SERIES = """
SELECT (created_at AT TIME ZONE %(tz)s)::date AS day,
       sum(CASE WHEN quantity_change > 0 THEN quantity_change ELSE 0 END),
       sum(CASE WHEN quantity_change < 0 THEN -quantity_change ELSE 0 END)
FROM inventory_stockmovement WHERE created_at >= %(start)s AND created_at < %(end)s {scope} GROUP BY 1"""
LEDGER_TOP = """
SELECT m.product_id, p.sku, p.name, sum(abs(m.quantity_change)) AS moved
FROM inventory_stockmovement m JOIN inventory_product p ON p.id = m.product_id
WHERE m.created_at >= %(start)s AND m.created_at < %(end)s {scope}
GROUP BY m.product_id, p.sku, p.name ORDER BY moved DESC, p.sku LIMIT 10"""


def measure() -> dict:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from dashboards.selectors import window_ending_today
    from inventory.models import DailyFlow, StockMovement
    from warehouses.models import Warehouse

    admin = get_user_model().objects.get(username="admin")
    client = APIClient()
    client.force_authenticate(admin)
    window = window_ending_today(days=WINDOW_DAYS)
    busiest = (StockMovement.objects.filter(warehouse__code__startswith="BW").order_by()
               .values("warehouse_id").annotate(n=Count("id"))
               .order_by("-n").first()["warehouse_id"])
    warehouse = Warehouse.objects.get(pk=busiest)
    params = {"tz": str(window.tz), "start": window.start, "end": window.end, "warehouse": warehouse.pk}

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        return response

    def replay(queries):
        with connection.cursor() as cursor:
            for sql in queries:
                cursor.execute(sql)
                cursor.fetchall()

    def raw(statements, scope=""):
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql.format(scope=scope), params)
                cursor.fetchall()

    def plan(sql):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())

    result = {"movements": StockMovement.objects.count(), "warehouse_code": warehouse.code,
              "warehouse_movements": StockMovement.objects.filter(warehouse=warehouse).count(),
              "window_movements": StockMovement.objects.filter(created_at__gte=window.start,
                                                               created_at__lt=window.end).count()}
    result["flow_rows"] = DailyFlow.objects.count()
    result["window_flow_rows"] = DailyFlow.objects.filter(day__gte=window.first_day).count()
    for name, url, scope in (
            ("admin", f"/api/dashboard/admin/?days={WINDOW_DAYS}", ""),
            ("warehouse", f"/api/dashboard/warehouse/?warehouse={warehouse.pk}&days={WINDOW_DAYS}",
             "AND warehouse_id = %(warehouse)s")):
        began = time.perf_counter()
        get(url)  # the first request may close past days (writes their totals, once)
        first_ms = (time.perf_counter() - began) * 1000
        with CaptureQueriesContext(connection) as captured:
            get(url)
        statements = [q["sql"] for q in captured.captured_queries]
        result[name] = {
            "first_ms": first_ms,
            "queries": len(statements),
            "endpoint_ms": best(lambda url=url: get(url)),
            "sql_ms": best(lambda statements=statements: replay(statements)),
            "ledger_sql_ms": best(lambda scope=scope: raw([LEDGER_SERIES, LEDGER_TOP], scope=scope), repeat=3),
            "plans": [plan(sql) for sql in statements if "inventory_dailyflow" in sql or "inventory_closed" in sql],
        }

    # The ledger, newest first: the first page and the page 10 000 rows deep (following the cursor).
    first = "/api/stock-movements/?page_size=200"
    url = first
    for _ in range(50):
        url = get(url).json()["next"]
    deep = url.replace("http://testserver", "")
    result["ledger_pages"] = {"first_ms": best(lambda: get(first)), "deep_ms": best(lambda: get(deep))}

    began = time.perf_counter()
    call_command("verify_ledger", stdout=open(os.devnull, "w"))
    result["verify_seconds"] = time.perf_counter() - began
    return result


def child(database: str) -> None:
    env = loadlib.server_environment(database, loadlib.new_secret(), ALLOWED_HOSTS="testserver,127.0.0.1",
                                     DEBUG="false")
    env.pop("REDIS_URL", None)
    loadlib.setup_django(env)
    print(json.dumps(measure(), default=str))


# --- the parent: prints the table -------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000", help="Ledger sizes, comma separated.")
    parser.add_argument("--drop", action="store_true", help="Drop the benchmark databases at the end.")
    parser.add_argument("--plans", action="store_true", help="Print the query plans of the roll-up reads.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for size in sizes:
        env = {**os.environ, "DATABASE_URL": database_url(size), "DEBUG": "true"}
        prepare(size, env)
        done = subprocess.run([sys.executable, __file__, "--child", "measure", "--database-url", database_url(size)],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"measuring {label(size)} failed:\n{done.stderr[-3000:]}")
        results[size] = json.loads(done.stdout.strip().splitlines()[-1])
        report(size, results[size], plans=args.plans)
    if len(sizes) > 1:
        small, large = results[sizes[0]], results[sizes[-1]]
        growth = large["movements"] / small["movements"]
        print(f"\nverify_ledger: {growth:.1f}x the rows took {large['verify_seconds'] / small['verify_seconds']:.1f}x "
              "the time (linear = the same factor)")
        for page in ("first_ms", "deep_ms"):
            print(f"ledger page {page[:-3]}: {large['ledger_pages'][page] / small['ledger_pages'][page]:.2f}x "
                  f"at {growth:.0f}x the rows (constant = 1)")
    if args.drop:
        for size in sizes:
            loadlib.recreate_postgres(database_url(size), drop_only=True)


def report(size: int, r: dict, *, plans: bool) -> None:
    print(f"\n=== {r['movements']:,} movements ({r['flow_rows']:,} daily flow rows); last {WINDOW_DAYS} days: "
          f"{r['window_movements']:,} movements, {r['window_flow_rows']:,} flow rows ===")
    print(f"{'dashboard':<32}{'queries':>8}{'endpoint ms':>13}{'same SQL ms':>13}{'ratio':>7}"
          f"{'ledger SQL ms':>15}{'vs ledger':>11}")
    for name in ("admin", "warehouse"):
        d = r[name]
        title = name if name == "admin" else f"busiest warehouse ({r['warehouse_movements']:,} mvts)"
        print(f"{title:<32}{d['queries']:>8}{d['endpoint_ms']:>13.1f}{d['sql_ms']:>13.1f}"
              f"{d['endpoint_ms'] / d['sql_ms']:>7.2f}{d['ledger_sql_ms']:>15.1f}"
              f"{d['endpoint_ms'] / d['ledger_sql_ms']:>11.2f}")
        print(f"    first request (closes the days not yet closed): {d['first_ms']:.0f} ms")
        if plans:
            for text in d["plans"]:
                print("    " + text.replace("\n", "\n    "))
    pages = r["ledger_pages"]
    print(f"ledger page of 200: first {pages['first_ms']:.1f} ms, 10 000 rows deep {pages['deep_ms']:.1f} ms "
          f"(ratio {pages['deep_ms'] / pages['first_ms']:.2f})")
    print(f"verify_ledger: {r['verify_seconds']:.1f} s, {r['movements'] / r['verify_seconds']:,.0f} movements/s",
          flush=True)


if __name__ == "__main__":
    main()
