"""`python manage.py seed_demo`: a demo that shows the product; `--scale` for benchmarks.

Without `--scale` it creates the demo's accounts, warehouses and products when missing, then tells the
demo story (`demo.story`): eight weeks of trade through the services (`inventory.services`,
`workflows.services`) with the clock moved to each step, ending with work open for every role. The
story is told once, on a database whose demo warehouses hold no stock yet; running the command again
changes nothing. It lives in the top-layer app `demo` because the story needs `workflows`.

With `--scale N` (or explicit `--warehouses/--products/--movements/--days`) it bulk-loads benchmark
data exactly as before the story existed: the demo accounts, warehouses and products, their opening
stock through the services (`seed_small`, no story), then N x 1 000 000 movements over the last year
(ending yesterday) on 20 warehouses x 5 000 products,
shaped like trade (`_History`: busy weekdays, quiet weekends, a few hot products, larger warehouses
busier, mostly small picks and fewer large deliveries). This is the ONE place that writes the ledger
without `inventory.services`: for speed it builds the movements in memory with a correct
`quantity_after` chain per stock row, inserts them in batches (PostgreSQL COPY, `bulk_create` on
other databases), then sets every new stock row's quantity to the sum of its movements in one UPDATE
and rebuilds the daily roll-up from the ledger (`inventory.rollups.rebuild`), so `verify_ledger` passes.
No audit events or alerts are written for the bulk data. Use it on an empty benchmark database,
never on production data.
"""

import itertools
import random
import uuid
from array import array
from datetime import datetime, time, timedelta
from time import monotonic

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role, User
from inventory import rollups, services
from inventory.models import LowStockThreshold, Product, Stock, StockMovement
from warehouses.models import Warehouse

from ...story import Cast, Story, already_told

USERS = [
    # username, password, role, warehouse code (staff) or managed warehouse codes (managers)
    ("admin", "admin12345", Role.Name.ADMIN, None),
    ("manager.north", "manager12345", Role.Name.MANAGER, ["NORTH"]),
    ("manager.south", "manager12345", Role.Name.MANAGER, ["SOUTH", "EAST"]),
    ("staff.north", "staff12345", Role.Name.STAFF, "NORTH"),
    ("staff.south", "staff12345", Role.Name.STAFF, "SOUTH"),
    ("staff.east", "staff12345", Role.Name.STAFF, "EAST"),
    ("viewer", "viewer12345", Role.Name.VIEWER, None),
]

WAREHOUSES = [
    ("NORTH", "North distribution centre", "12 Harbour Road, Aberdeen"),
    ("SOUTH", "South depot", "4 Quay Street, Southampton"),
    ("EAST", "East cross-dock", "88 Marsh Lane, Norwich"),
]

PRODUCTS = [
    ("BOLT-M6", "Hex bolt M6x30", "box"), ("BOLT-M8", "Hex bolt M8x40", "box"),
    ("NUT-M6", "Hex nut M6", "box"), ("NUT-M8", "Hex nut M8", "box"),
    ("WASH-M6", "Flat washer M6", "box"), ("SCREW-4x40", "Wood screw 4x40", "box"),
    ("GLOVE-L", "Work gloves, large", "pair"), ("GLOVE-M", "Work gloves, medium", "pair"),
    ("TAPE-50", "Packing tape 50 mm", "roll"), ("BOX-S", "Carton, small", "pcs"),
    ("BOX-M", "Carton, medium", "pcs"), ("BOX-L", "Carton, large", "pcs"),
    ("PALLET-EU", "EUR pallet 1200x800", "pcs"), ("WRAP-500", "Stretch wrap 500 mm", "roll"),
    ("LABEL-A6", "Shipping labels A6", "pack"), ("DRILL-18V", "Cordless drill 18 V", "pcs"),
    ("BATT-18V", "Battery pack 18 V", "pcs"), ("HELMET-W", "Safety helmet, white", "pcs"),
    ("VEST-HV", "High-visibility vest", "pcs"), ("CABLE-3G", "Power cable 3G1.5, 50 m", "reel"),
]

# Lot-tracked products (SPEC §14), created through the catalogue service; the story alone stocks them (by lot).
LOT_PRODUCTS = [
    ("SEAL-310", "Silicone sealant, clear, 310 ml", "pcs"),
    ("HARNESS-FA", "Fall-arrest harness", "pcs"),
]

BATCH = 5000


class _BulkWriter:
    """Appends rows of one model in batches: COPY on PostgreSQL (fast), bulk_create elsewhere."""

    def __init__(self, model, fields: list[str]):
        self.model, self.fields, self.rows = model, fields, []
        columns = {field.attname: field.column for field in model._meta.concrete_fields}
        self.copy_sql = "COPY {} ({}) FROM STDIN".format(
            connection.ops.quote_name(model._meta.db_table),
            ", ".join(connection.ops.quote_name(columns[name]) for name in fields))
        self.batch = BATCH * 10 if connection.vendor == "postgresql" else BATCH

    def add(self, *values) -> None:
        self.rows.append(values)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor, cursor.cursor.copy(self.copy_sql) as copy:
                for row in self.rows:
                    copy.write_row(row)
        else:
            self.model.objects.bulk_create([self.model(**dict(zip(self.fields, row, strict=True)))
                                            for row in self.rows])
        self.rows = []


# A year of history ending yesterday (today is left to live use).
HISTORY_DAYS = 365
# Relative activity per weekday, Monday first: a working week with a quiet Saturday and a closed-ish Sunday.
WEEKDAY_WEIGHT = (1.0, 1.05, 1.0, 1.1, 1.2, 0.35, 0.1)
# Hot products: the first 1 % of the catalogue moves 30 % of the units, the next 19 % another 50 %.
HOT_SHARE, FAST_SHARE = 0.30, 0.50
PURCHASE, FULFIL, ADJUST = (StockMovement.Kind.PURCHASE.value, StockMovement.Kind.FULFIL.value,
                            StockMovement.Kind.ADJUST.value)
Reason = StockMovement.Reason
ADJUST_REASONS = [r.value for r in (Reason.COUNT, Reason.DAMAGE, Reason.LOSS, Reason.FOUND, Reason.RETURN)]


class _History:
    """The bulk ledger's shape: opening assigns on the first day, then a year of daily trade.

    Each day gets a share of the movements by its weekday (and a slow upward trend), at times between
    06:00 and 20:00 local, in increasing order (ids and timestamps agree). A movement picks a warehouse
    (larger ones busier) and a product (a few hot, some fast, most slow): 80 % outgoing picks (fulfil,
    1–20 units), 15 % deliveries (purchase, 50–500), 5 % adjustments (±1–10, with a reason).
    """

    def __init__(self, rng: random.Random, *, rows: int, products: int, days: int, movements: int):
        self.rng, self.rows, self.products, self.days = rng, rows, products, days
        self.openings = min(rows, movements)
        self.trade = movements - self.openings
        tz = timezone.get_default_timezone()
        self.first_day = timezone.localdate(timezone=tz) - timedelta(days=days)
        self.tz = tz

    def _per_day(self) -> list[int]:
        weights = [WEEKDAY_WEIGHT[(self.first_day + timedelta(days=d)).weekday()] * (1 + 0.3 * d / self.days)
                   for d in range(self.days)]
        total = sum(weights)
        counts = [int(self.trade * w / total) for w in weights]
        for d in range(self.trade - sum(counts)):  # the rounding remainder, one each to the first days
            counts[d % self.days] += 1
        return counts

    def _instants(self, day: int, count: int, *, start: time = time(6), hours: int = 14):
        opening = datetime.combine(self.first_day + timedelta(days=day), start, tzinfo=self.tz)
        step = timedelta(hours=hours) / max(count, 1)
        return (opening + step * i for i in range(count))

    def movements(self):
        """`(stock index, kind, reason, change, created_at)` in ledger order."""
        rng = self.rng
        # The opening balances, before the first day's trade.
        for index, at in zip(range(self.openings), self._instants(0, self.openings, start=time(0), hours=6),
                             strict=True):
            yield index, StockMovement.Kind.ASSIGN.value, "", rng.randint(50, 500), at
        if self.rows == 0 or self.trade == 0:
            return
        per_warehouse = max(1, self.rows // self.products) if self.rows >= self.products else 1
        width = min(self.products, self.rows)
        hot = max(1, width // 100)
        fast = max(hot + 1, width // 5)
        warehouse_weights = list(itertools.accumulate(1 / (1 + 0.2 * w) for w in range(per_warehouse)))
        random_, randint, choices = rng.random, rng.randint, rng.choices
        for day, count in enumerate(self._per_day()):
            if not count:
                continue
            warehouses = choices(range(per_warehouse), cum_weights=warehouse_weights, k=count)
            for warehouse, at in zip(warehouses, self._instants(day, count), strict=True):
                pick = random_()
                if pick < HOT_SHARE:
                    product = randint(0, hot - 1)
                elif pick < HOT_SHARE + FAST_SHARE:
                    product = randint(hot, fast - 1) if fast > hot else 0
                else:
                    product = randint(fast, width - 1) if width > fast else 0
                index = min(warehouse * width + product, self.rows - 1)
                kind = random_()
                if kind < 0.80:
                    yield index, FULFIL, "", -randint(1, 20), at
                elif kind < 0.95:
                    yield index, PURCHASE, "", randint(50, 500), at
                else:
                    change = randint(1, 10) * (1 if random_() < 0.4 else -1)
                    yield index, ADJUST, ADJUST_REASONS[randint(0, 4)], change, at


def _skip_row_triggers() -> bool:
    """Within this transaction, skip row triggers (the foreign-key checks) if allowed; True if so."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


class Command(BaseCommand):
    """`seed_demo`: a small demo data set through the services, or bulk benchmark data (see the module docstring)."""

    help = "Create the demo (eight weeks of history and open work; idempotent), or with --scale bulk benchmark data."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=None,
                            help="Bulk benchmark data: N = N x 1 000 000 movements over a year, on 20 warehouses x "
                                 "5 000 products (100 000 stock rows) unless --warehouses/--products say otherwise.")
        parser.add_argument("--warehouses", type=int, default=None, help="Bulk: number of warehouses.")
        parser.add_argument("--products", type=int, default=None, help="Bulk: number of products.")
        parser.add_argument("--movements", type=int, default=None, help="Bulk: number of ledger rows.")
        parser.add_argument("--days", type=int, default=HISTORY_DAYS,
                            help=f"Bulk: days of history, ending yesterday (default {HISTORY_DAYS}).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (the demo story, or the bulk data).")

    def handle(self, *args, scale, warehouses, products, movements, days, seed, **options):
        rng = random.Random(seed)
        if scale is None and not (warehouses or products or movements):
            self.seed_story(rng)
            return
        actors = self.seed_small(rng)
        factor = 1.0 if scale is None else scale
        if factor <= 0:
            raise CommandError("--scale must be positive.")
        counts = {
            "warehouses": warehouses if warehouses is not None else 20,
            "products": products if products is not None else 5_000,
            "movements": movements if movements is not None else max(1, round(1_000_000 * factor)),
        }
        if min(counts.values()) < 1 or days < 1:
            raise CommandError("--warehouses, --products, --movements and --days must be at least 1.")
        self.seed_bulk(rng, actor=actors["admin"], days=days, **counts)

    # --- the demo ----------------------------------------------------------------------------------

    def seed_story(self, rng: random.Random) -> None:
        began = monotonic()
        users, warehouses, catalogue = self.seed_cast()
        lot_products = self.seed_lot_products(users["admin"])
        cast = Cast(users=users, warehouses=warehouses, products={product.sku: product for product in catalogue},
                    lot_products={product.sku: product for product in lot_products})
        if already_told(cast):
            self.stdout.write("demo stock exists already: nothing to add (delete db.sqlite3 for a fresh demo).")
            return
        with transaction.atomic():
            steps = Story(cast, rng).tell()
        self.stdout.write(self.style.SUCCESS(
            f"demo ready in {monotonic() - began:.1f} s: {len(warehouses)} warehouses, "
            f"{len(catalogue) + len(lot_products)} products ({len(lot_products)} lot-tracked), "
            f"{steps} steps over eight weeks ({StockMovement.objects.count()} movements). "
            "Log in as admin / admin12345; README.md (Demo) says who acts on what."))

    def seed_lot_products(self, admin: User) -> list[Product]:
        """The demo's lot-tracked products, each created (by the admin, through the catalogue service) when missing."""
        products = []
        for sku, name, unit in LOT_PRODUCTS:
            product = Product.objects.filter(sku__iexact=sku).first()
            if product is None:
                product = services.create_product(actor=admin, sku=sku, name=name, unit=unit,
                                                  tracking=Product.Tracking.LOT)
            products.append(product)
        return products

    # --- the small set under the benchmarks -------------------------------------------------------

    def seed_cast(self) -> tuple[dict[str, User], dict[str, Warehouse], list[Product]]:
        """The demo's accounts, warehouses and products, each created only when missing."""
        with transaction.atomic():
            warehouses = {}
            for code, name, address in WAREHOUSES:
                warehouses[code], _ = Warehouse.objects.get_or_create(code=code,
                                                                      defaults={"name": name, "address": address})
            users = {}
            for username, password, role, where in USERS:
                user = User.objects.filter(username__iexact=username).first()
                if user is None:
                    user = User.objects.create_user(
                        username=username, email=f"{username}@example.com", password=password,
                        role=Role.get(role), status=User.Status.ACTIVE, is_staff=role == Role.Name.ADMIN,
                        is_superuser=role == Role.Name.ADMIN,
                        warehouse=warehouses[where] if role == Role.Name.STAFF else None,
                    )
                    self.stdout.write(f"created {role:<8} {username} / password {password}")
                else:
                    self.stdout.write(f"exists  {role:<8} {username} (password unchanged)")
                users[username] = user
                if role == Role.Name.MANAGER:
                    Warehouse.objects.filter(code__in=where, manager__isnull=True).update(manager=user)
            catalogue = []
            for sku, name, unit in PRODUCTS:
                product, _ = Product.objects.get_or_create(sku=sku, defaults={"name": name, "unit": unit})
                catalogue.append(product)
            for warehouse in warehouses.values():  # their managers were set by a query
                warehouse.refresh_from_db()
        return users, warehouses, catalogue

    def seed_small(self, rng: random.Random) -> dict[str, User]:
        """The cast and an opening stock of every pair, dated now, through the services (under `--scale`)."""
        users, warehouses, catalogue = self.seed_cast()
        admin = users["admin"]
        staff = {"NORTH": users["staff.north"], "SOUTH": users["staff.south"], "EAST": users["staff.east"]}
        created_rows = 0
        for code, warehouse in warehouses.items():
            warehouse.refresh_from_db()
            if not warehouse.is_active:
                continue
            for product in catalogue:
                if not product.is_active or Stock.objects.filter(warehouse=warehouse, product=product).exists():
                    continue
                quantity = rng.randint(20, 400)
                services.assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=quantity,
                                      note="opening stock (demo)")
                if not LowStockThreshold.objects.filter(warehouse=warehouse, product=product).exists():
                    services.set_threshold(actor=admin, warehouse=warehouse, product=product,
                                           threshold=rng.choice([10, 25, 50]))
                for _ in range(rng.randint(0, 3)):
                    reason = rng.choice([*ADJUST_REASONS, Reason.RECEIPT.value])
                    sign = -1 if reason in ("damage", "loss") else rng.choice([-1, 1])
                    delta = sign * rng.randint(1, 15)
                    current = Stock.objects.get(warehouse=warehouse, product=product).quantity
                    if current + delta < 0:
                        continue
                    services.adjust_stock(actor=staff[code], warehouse=warehouse, product=product, delta=delta,
                                          reason=reason, note="demo adjustment")
                created_rows += 1
        self.stdout.write(self.style.SUCCESS(
            f"demo data ready: {len(warehouses)} warehouses, {len(catalogue)} products, "
            f"{created_rows} new stock rows ({Stock.objects.count()} in all). Log in as admin / admin12345."))
        return users

    # --- bulk benchmark data ----------------------------------------------------------------------

    def seed_bulk(self, rng: random.Random, *, actor: User, warehouses: int, products: int, movements: int,
                  days: int = HISTORY_DAYS) -> None:
        began = monotonic()
        run = timezone.now().strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]  # a tag unique to this run
        self.stdout.write(f"bulk: {warehouses} warehouses, {products} products, {movements} movements over "
                          f"{days} days (run {run})")
        with transaction.atomic():
            new_warehouses = Warehouse.objects.bulk_create(
                [Warehouse(code=f"BW{run}-{i:05d}", name=f"Bench warehouse {i}") for i in range(warehouses)],
                batch_size=BATCH)
            for start in range(0, products, BATCH):
                Product.objects.bulk_create(
                    [Product(sku=f"BP{run}-{i:06d}", name=f"Bench product {i}")
                     for i in range(start, min(products, start + BATCH))], batch_size=BATCH)
            warehouse_ids = sorted(w.pk for w in Warehouse.objects.filter(code__startswith=f"BW{run}-"))
            product_ids = array("q", Product.objects.filter(sku__startswith=f"BP{run}-").order_by("pk")
                                .values_list("pk", flat=True))
            assert len(warehouse_ids) == len(new_warehouses)

            # Stock rows: one per (warehouse, product) pair, at most one per movement (the opening assigns).
            rows = min(warehouses * products, movements)
            now = timezone.now()
            writer = _BulkWriter(Stock, ["product_id", "warehouse_id", "quantity", "updated_at"])
            for i in range(rows):
                writer.add(product_ids[i % products], warehouse_ids[i // products], 0, now)
            writer.flush()
            stock_ids, stock_wh, stock_pr = array("q"), array("q"), array("q")
            for pk, warehouse_id, product_id in (Stock.objects.filter(warehouse_id__in=warehouse_ids).order_by("pk")
                                                 .values_list("pk", "warehouse_id", "product_id")
                                                 .iterator(chunk_size=BATCH)):
                stock_ids.append(pk)
                stock_wh.append(warehouse_id)
                stock_pr.append(product_id)

            # Foreign keys are not re-checked row by row for the bulk ledger (every id comes from the rows just
            # read back), when the database lets us: PostgreSQL's `session_replication_role` (superuser).
            fast = _skip_row_triggers()
            writer = _BulkWriter(StockMovement, [
                "stock_id", "warehouse_id", "product_id", "kind", "quantity_change", "quantity_after", "actor_id",
                "reference_type", "reference_id", "reason", "note", "created_at"])
            history = _History(rng, rows=len(stock_ids), products=products, days=days, movements=movements)
            balances = array("q", bytes(8 * len(stock_ids)))
            for n, (index, kind, reason, change, at) in enumerate(history.movements()):
                if balances[index] + change < 0:  # more out than on hand: the day's delivery came first
                    kind, reason, change = PURCHASE, "", rng.randint(100, 500)
                balances[index] += change
                writer.add(stock_ids[index], stock_wh[index], stock_pr[index], kind, change, balances[index],
                           actor.pk, None, None, reason, "", at)
                if (n + 1) % 1_000_000 == 0:
                    self.stdout.write(f"  {n + 1} movements")
            writer.flush()
            if fast:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            self.stdout.write(f"  ledger written ({monotonic() - began:.0f} s)")

            # Balances from the ledger itself, in the database: quantity == sum(quantity_change).
            total = (StockMovement.objects.filter(stock_id=OuterRef("pk")).order_by().values("stock_id")
                     .annotate(total=Sum("quantity_change")).values("total"))
            Stock.objects.filter(warehouse_id__in=warehouse_ids).update(
                quantity=Coalesce(Subquery(total), Value(0)), updated_at=timezone.now())
            self.stdout.write(f"  balances set ({monotonic() - began:.0f} s)")
            # The dashboards' daily roll-up, from the ledger (inventory.rollups is its only other writer).
            flow_rows = rollups.rebuild()
            rollups.close_days([history.first_day + timedelta(days=n) for n in range(days)])
            self.stdout.write(f"  daily roll-up rebuilt and past days closed ({monotonic() - began:.0f} s)")
        self.stdout.write(self.style.SUCCESS(
            f"bulk data ready: {len(warehouse_ids)} warehouses, {len(product_ids)} products, {len(stock_ids)} stock "
            f"rows, {movements} movements, {flow_rows} daily flow rows. "
            "Run `python manage.py verify_ledger` to check."))
