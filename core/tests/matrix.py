"""The permission matrix: every endpoint × method × caller, with the outcome SPEC §2–§7 asks for.

Used by test_permission_matrix.py (who may call what) and test_strict_bodies.py (what a body may hold).

The expected outcomes are written here as a table, from the SPEC — not derived from the code under
test. The endpoints come from the URL configuration: one missing from the table fails
`test_every_endpoint_is_in_the_matrix`, so every new endpoint must say who may use it.

Callers: `anon` (no token), `viewer`, `staff` and `manager` (of warehouse A, where the objects are),
`admin`, `staff_b` and `manager_b` (of warehouse B: the right role, the wrong warehouse). Each case
runs on a fresh database with a valid body, so an allowed caller gets its success status and a refused
one gets 401, 403 (a visible object it may not act on) or 404 (outside its scope, ids do not leak).
Lifecycle bodies name users with ids a caller outside the scope cannot see: those are a 400
("does not exist"), as documented in docs/DECISIONS.md.

Covers OWASP API Top 10 (2023) API1 (object level: the `_b` callers), API3 (property level: see
test_strict_bodies.py) and API5 (function level: the roles).
"""

from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import client_for
from inventory.services import assign_stock
from warehouses.tests.factories import WarehouseFactory

CALLERS = ("anon", "viewer", "staff", "manager", "admin", "staff_b", "manager_b")


def _expect(spec: str) -> dict[str, int]:
    """`"admin manager=201 *=403 anon=401"` → a status per caller (`*` = every caller not named)."""
    expected, default = {}, None
    for part in spec.split():
        names, status = part.split("=")
        for name in names.split(","):
            if name == "*":
                default = int(status)
            else:
                expected[name] = int(status)
    for caller in CALLERS:
        expected.setdefault(caller, default)
    assert None not in expected.values(), spec
    return expected


READ_ALL = "*=200 anon=401"
WEBHOOKS = "admin,manager={ok} manager_b=404 viewer,staff,staff_b=403 anon=401"  # a manager's own endpoint
WEBHOOK_URL = "https://93.184.216.34/hook"  # a public IP literal: no DNS lookup, allowed by the URL guard
OPERATORS_READ = "admin,manager,staff,manager_b,staff_b=200 viewer=403 anon=401"


class Scene:
    """The objects a case acts on, all in warehouse A, made lazily on a fresh database."""

    def __init__(self, world):
        self.w = world
        self.callers = {"anon": None, "viewer": world.viewer, "staff": world.staff_a, "manager": world.manager_a,
                        "admin": world.admin, "staff_b": world.staff_b, "manager_b": world.manager_b}
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=50)
        self._cache = {}

    def _once(self, name, make):
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    @property
    def wh_c(self):
        """A third, unmanaged warehouse (so manager_b manages neither side of an A → C transfer)."""
        return self._once("wh_c", lambda: WarehouseFactory(code="C", name="Gamma"))

    @property
    def empty_warehouse(self):
        return self._once("empty", lambda: WarehouseFactory(code="EMPTY", name="Empty"))

    @property
    def threshold(self):
        from inventory.services import set_threshold

        return self._once("threshold", lambda: set_threshold(actor=self.w.admin, warehouse=self.w.wh_a,
                                                              product=self.w.product, threshold=1))

    @property
    def reservation(self):
        from inventory.services import reserve_stock

        return self._once("reservation", lambda: reserve_stock(
            actor=self.w.admin, warehouse=self.w.wh_a, product=self.w.product, quantity=2))

    @property
    def purchase(self):
        from workflows.services import create_purchase_request

        return self._once("purchase", lambda: create_purchase_request(
            actor=self.w.viewer, warehouse=self.w.wh_a, product=self.w.product, quantity=1))

    @property
    def transfer(self):
        from workflows.services import create_transfer_request

        return self._once("transfer", lambda: create_transfer_request(
            actor=self.w.admin, source=self.w.wh_a, destination=self.wh_c, product=self.w.product, quantity=1))

    def transit(self, name, *, ship: bool):
        """An in-transit A → C transfer of 2 units, approved (reserved at A) and, if `ship`, shipped."""
        from workflows.services import create_transfer_request, decide_transfer_request, ship_transfer

        def make():
            transfer = create_transfer_request(actor=self.w.admin, source=self.w.wh_a, destination=self.wh_c,
                                               product=self.w.product, quantity=2, mode="in_transit")
            decide_transfer_request(actor=self.w.admin, request_id=transfer.pk, decision="approve")
            if ship:
                ship_transfer(actor=self.w.admin, transfer_id=transfer.pk)
            return transfer

        return self._once(name, make)

    @property
    def approved_transit(self):
        return self.transit("approved_transit", ship=False)

    @property
    def shipped_transit(self):
        return self.transit("shipped_transit", ship=True)

    @property
    def managers_transfer(self):
        """A pending A → C transfer requested by A's manager (who may cancel it while pending)."""
        from workflows.services import create_transfer_request

        return self._once("managers_transfer", lambda: create_transfer_request(
            actor=self.w.manager_a, source=self.w.wh_a, destination=self.wh_c, product=self.w.product, quantity=1))

    @property
    def rule(self):
        """A reorder rule of A (from C), not crossing: A holds 50."""
        from workflows.services import create_rule

        return self._once("rule", lambda: create_rule(
            actor=self.w.admin, warehouse=self.w.wh_a, product=self.w.product, source_warehouse=self.wh_c,
            min_quantity=1, max_quantity=5))

    @property
    def lot(self):
        """A lot of a lot-tracked product, 5 units of it in A."""
        from inventory.lots import Lot
        from inventory.tests.factories import ProductFactory

        def make():
            product = ProductFactory(sku="MILK-M", tracking="lot")
            assign_stock(actor=self.w.admin, warehouse=self.w.wh_a, product=product, quantity=5, lot="L-M")
            return Lot.objects.get(product=product)

        return self._once("lot", make)

    @property
    def webhook(self):
        """Manager A's webhook endpoint, filtered to warehouse A, with one (ping) delivery."""
        from webhooks.services import create_endpoint, ping

        def make():
            endpoint, _ = create_endpoint(actor=self.w.manager_a, url=WEBHOOK_URL, events=["*"],
                                          warehouses=[self.w.wh_a])
            ping(actor=self.w.manager_a, endpoint=endpoint)
            return endpoint

        return self._once("webhook", make)

    def user(self, name, **traits):
        return self._once(name, lambda: UserFactory(username=name, **traits))

    @property
    def pending_staff(self):
        return self.user("pending_staff", staff=True, warehouse=self.w.wh_a, status=User.Status.PENDING)

    @property
    def other_staff(self):
        return self.user("other_staff", staff=True, warehouse=self.w.wh_a)

    @property
    def promotion(self):
        from accounts.services import request_staff_promotion

        return self._once("promotion", lambda: request_staff_promotion(actor=self.w.admin, user=self.other_staff,
                                                                       reason="ready"))

    @property
    def count(self):
        """An open count of warehouse A by staff_a, every line counted as expected (submits as applied)."""
        from workflows.services import open_count, record_counts

        def make():
            count = open_count(actor=self.w.staff_a, warehouse=self.w.wh_a)
            record_counts(actor=self.w.staff_a, count_id=count.pk,
                          counts={line.pk: line.expected for line in count.lines.all()})
            return count

        return self._once("count", make)

    @property
    def submitted_count(self):
        """A count of warehouse A submitted by staff_a that found one unit missing (awaits a decision)."""
        from workflows.services import open_count, record_counts, submit_count

        def make():
            count = open_count(actor=self.w.staff_a, warehouse=self.w.wh_a)
            record_counts(actor=self.w.staff_a, count_id=count.pk,
                          counts={line.pk: line.expected - 1 for line in count.lines.all()})
            return submit_count(actor=self.w.staff_a, count_id=count.pk)

        return self._once("submitted_count", make)

    @property
    def lone_manager(self):
        return self.user("lone_manager", manager=True, warehouse=self.w.wh_a)


def prepare(case: "Case", scene: "Scene", pattern: str, user) -> tuple[str, object]:
    """The concrete path and body of a case for `user` (making the objects they name)."""
    path = "/api/" + (case.path(scene) if case.path else pattern)
    return path, case.body(scene, user) if callable(case.body) else case.body


def send(method: str, path: str, body, user):
    """One request as `user` (None: anonymous)."""
    client = client_for(user)
    if body is None:
        return getattr(client, method.lower())(path)
    # A body carrying a file (the CSV imports) goes as multipart, every other one as JSON.
    fmt = "multipart" if any(isinstance(value, UploadedFile) for value in body.values()) else "json"
    return getattr(client, method.lower())(path, body, format=fmt)


@dataclass
class Case:
    expect: str
    body: object = None  # a dict, or a callable (scene, caller user) → dict
    path: object = None  # a callable (scene) → the concrete path, for paths with an id or a query
    ok_status: set = field(default_factory=set)

    def expected(self):
        return _expect(self.expect)


def _reset_link(user) -> dict:
    """`{uid, token}` of a password-reset link for `user`, as the e-mail carries them."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.http import urlsafe_base64_encode

    return {"uid": urlsafe_base64_encode(str(user.pk).encode()), "token": default_token_generator.make_token(user)}


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("data.csv", text.encode(), content_type="text/csv")


def _get(path):
    return lambda s: path


MATRIX: dict[tuple[str, str], Case] = {
    # --- auth and people (SPEC §3) ---
    ("POST", "auth/register/"): Case("*=201", body=lambda s, u: {
        "username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD}),
    ("POST", "auth/login/"): Case("*=200", body={"username": "viewer1", "password": PASSWORD}),
    ("POST", "auth/refresh/"): Case("*=200", body=lambda s, u: {"refresh": str(RefreshToken.for_user(s.w.viewer))}),
    ("POST", "auth/logout/"): Case("*=204 anon=401", body=lambda s, u: {
        "refresh": str(RefreshToken.for_user(u or s.w.viewer))}),
    ("POST", "auth/password/change/"): Case("*=204 anon=401", body={
        "old_password": PASSWORD, "new_password": "An0ther-long-phrase!"}),
    ("POST", "auth/password/reset/"): Case("*=202", body={"email": "viewer1@example.com"}),
    ("POST", "auth/password/reset/confirm/"): Case("*=204", body=lambda s, u: {
        **_reset_link(s.w.viewer), "new_password": "An0ther-long-phrase!"}),
    ("GET", "profile/"): Case(READ_ALL),
    ("PUT", "profile/"): Case(READ_ALL, body={"first_name": "Ada"}),
    ("PATCH", "profile/"): Case(READ_ALL, body={"first_name": "Ada"}),
    ("GET", "users/"): Case("admin,manager,manager_b=200 viewer,staff,staff_b=403 anon=401"),
    ("GET", "users/<int:pk>/"): Case("admin,manager=200 manager_b=404 viewer,staff,staff_b=403 anon=401",
                                     path=lambda s: f"users/{s.w.staff_a.pk}/"),
    ("POST", "staffs/approve/"): Case("admin,manager=200 manager_b=400 viewer,staff,staff_b=403 anon=401",
                                      body=lambda s, u: {"user": s.pending_staff.pk, "decision": "approve"}),
    ("POST", "staffs/dismiss/"): Case("admin,manager=200 manager_b=400 viewer,staff,staff_b=403 anon=401",
                                      body=lambda s, u: {"user": s.other_staff.pk, "reason": "left"}),
    ("POST", "managers/request-staff-promotion/"): Case(
        "admin,manager=201 manager_b=400 viewer,staff,staff_b=403 anon=401",
        body=lambda s, u: {"user": s.other_staff.pk, "reason": "ready"}),
    ("GET", "promotion-requests/"): Case("admin,manager,manager_b=200 viewer,staff,staff_b=403 anon=401"),
    ("POST", "promotion-requests/approve/"): Case("admin=200 *=403 anon=401",
                                                  body=lambda s, u: {"id": s.promotion.pk, "decision": "approve"}),
    ("POST", "admin/demote-manager/"): Case("admin=200 *=403 anon=401",
                                            body=lambda s, u: {"user": s.lone_manager.pk, "reason": "reorg"}),
    ("GET", "audit-events/"): Case("admin=200 *=403 anon=401"),
    # --- warehouses, products, stock (SPEC §4) ---
    ("GET", "warehouses/"): Case(READ_ALL),
    ("POST", "warehouses/"): Case("admin=201 *=403 anon=401", body={"code": "NEW", "name": "New"}),
    ("GET", "warehouses/<pk>/"): Case(READ_ALL, path=lambda s: f"warehouses/{s.w.wh_a.pk}/"),
    ("PATCH", "warehouses/<pk>/"): Case("admin=200 *=403 anon=401", body={"name": "Renamed"},
                                        path=lambda s: f"warehouses/{s.w.wh_a.pk}/"),
    ("DELETE", "warehouses/<pk>/"): Case("admin=204 *=403 anon=401",
                                         path=lambda s: f"warehouses/{s.empty_warehouse.pk}/"),
    ("GET", "products/"): Case(READ_ALL),
    ("POST", "products/"): Case("admin,manager,manager_b=201 viewer,staff,staff_b=403 anon=401",
                                body={"sku": "NEW-1", "name": "New"}),
    ("GET", "products/<pk>/"): Case(READ_ALL, path=lambda s: f"products/{s.w.product.pk}/"),
    ("PATCH", "products/<pk>/"): Case("admin,manager,manager_b=200 viewer,staff,staff_b=403 anon=401",
                                      body={"name": "Renamed"}, path=lambda s: f"products/{s.w.product.pk}/"),
    ("GET", "stocks/"): Case(READ_ALL),
    ("POST", "stocks/assign/"): Case("admin,manager=201 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk, "product": s.w.product.pk, "quantity": 5}),
    ("POST", "stocks/adjust/"): Case("admin,manager,staff=200 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk, "product": s.w.product.pk, "delta": -1, "reason": "damage"}),
    ("GET", "stock-movements/"): Case(OPERATORS_READ),
    ("GET", "low-stock-thresholds/"): Case(READ_ALL),
    ("POST", "low-stock-thresholds/"): Case("admin,manager=201 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk, "product": s.w.product2.pk, "threshold": 3}),
    ("GET", "low-stock-thresholds/<pk>/"): Case(READ_ALL, path=lambda s: f"low-stock-thresholds/{s.threshold.pk}/"),
    ("PATCH", "low-stock-thresholds/<pk>/"): Case("admin,manager=200 *=403 anon=401", body={"threshold": 2},
                                                  path=lambda s: f"low-stock-thresholds/{s.threshold.pk}/"),
    ("DELETE", "low-stock-thresholds/<pk>/"): Case("admin,manager=204 *=403 anon=401",
                                                   path=lambda s: f"low-stock-thresholds/{s.threshold.pk}/"),
    ("GET", "alerts/"): Case(OPERATORS_READ),
    # --- reservations (SPEC §10): warehouse-private, like the ledger ---
    ("GET", "reservations/"): Case(OPERATORS_READ),
    ("POST", "reservations/"): Case("admin,manager,staff=201 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk, "product": s.w.product.pk, "quantity": 1}),
    ("GET", "reservations/<pk>/"): Case("admin,manager,staff=200 manager_b,staff_b,viewer=404 anon=401",
                                        path=lambda s: f"reservations/{s.reservation.pk}/"),
    ("POST", "reservations/<pk>/release/"): Case(
        "admin,manager,staff=200 manager_b,staff_b,viewer=404 anon=401", body={},
        path=lambda s: f"reservations/{s.reservation.pk}/release/"),
    ("POST", "reservations/<pk>/fulfil/"): Case(
        "admin,manager,staff=200 manager_b,staff_b,viewer=404 anon=401", body={"quantity": 1},
        path=lambda s: f"reservations/{s.reservation.pk}/fulfil/"),
    # --- reorder rules (SPEC §15): warehouse-private; the warehouse's manager writes, its staff reads ---
    ("GET", "reorder-rules/"): Case(OPERATORS_READ),
    ("POST", "reorder-rules/"): Case("admin,manager=201 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk, "product": s.w.product.pk, "source_warehouse": s.wh_c.pk, "min_quantity": 1,
        "max_quantity": 5}),
    ("GET", "reorder-rules/<pk>/"): Case("admin,manager,staff=200 manager_b,staff_b=404 viewer=403 anon=401",
                                         path=lambda s: f"reorder-rules/{s.rule.pk}/"),
    ("PATCH", "reorder-rules/<pk>/"): Case("admin,manager=200 staff,viewer=403 manager_b,staff_b=404 anon=401",
                                           body={"min_quantity": 2}, path=lambda s: f"reorder-rules/{s.rule.pk}/"),
    ("DELETE", "reorder-rules/<pk>/"): Case("admin,manager=204 staff,viewer=403 manager_b,staff_b=404 anon=401",
                                            path=lambda s: f"reorder-rules/{s.rule.pk}/"),
    ("POST", "reorder-rules/<pk>/evaluate/"): Case(
        "admin,manager=200 staff,viewer=403 manager_b,staff_b=404 anon=401", body={},
        path=lambda s: f"reorder-rules/{s.rule.pk}/evaluate/"),
    # --- files (SPEC §13) ---
    ("POST", "products/import/"): Case("admin,manager,manager_b=200 viewer,staff,staff_b=403 anon=401",
                                       body=lambda s, u: {"file": _csv("sku,name\nNEW-1,New\n")}),
    ("GET", "products/export/"): Case(READ_ALL),
    # A row of another manager's warehouse is a bad row of the file (400), not a 403 of the request.
    ("POST", "stocks/import/"): Case("admin,manager=200 manager_b=400 viewer,staff,staff_b=403 anon=401",
                                     body=lambda s, u: {"file": _csv(f"warehouse_code,sku,quantity\n"
                                                                     f"{s.w.wh_a.code},{s.w.product.sku},5\n")}),
    ("GET", "stocks/export/"): Case(READ_ALL),
    ("GET", "stock-lots/export/"): Case(READ_ALL),
    ("GET", "stock-lots/"): Case(READ_ALL),
    ("GET", "lots/"): Case(READ_ALL),
    ("POST", "lots/"): Case("admin,manager,manager_b=201 viewer,staff,staff_b=403 anon=401", body=lambda s, u: {
        "product": s.lot.product_id, "code": "NEW-LOT", "expires_on": "2031-01-31"}),
    ("GET", "lots/<pk>/"): Case(READ_ALL, path=lambda s: f"lots/{s.lot.pk}/"),
    ("PATCH", "lots/<pk>/"): Case("admin=200 *=403 anon=401", body={"expires_on": "2031-02-28"},
                                  path=lambda s: f"lots/{s.lot.pk}/"),
    ("GET", "lots/<int:pk>/trace/"): Case(OPERATORS_READ, path=lambda s: f"lots/{s.lot.pk}/trace/"),
    ("GET", "lots/<int:pk>/consumers/"): Case(OPERATORS_READ, path=lambda s: f"lots/{s.lot.pk}/consumers/"),
    # --- stock counts (SPEC §12) ---
    ("GET", "stock-counts/"): Case(OPERATORS_READ),
    ("POST", "stock-counts/"): Case("admin,manager,staff=201 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk}),
    ("GET", "stock-counts/<int:pk>/"): Case("admin,manager,staff=200 *=404 anon=401",
                                            path=lambda s: f"stock-counts/{s.count.pk}/"),
    ("PATCH", "stock-counts/<int:pk>/lines/"): Case(
        "admin,manager,staff=200 *=404 anon=401", path=lambda s: f"stock-counts/{s.count.pk}/lines/",
        body=lambda s, u: {"lines": [{"line": s.count.lines.first().pk, "counted": 7}]}),
    ("POST", "stock-counts/<int:pk>/submit/"): Case("admin,manager,staff=200 *=404 anon=401",
                                                    path=lambda s: f"stock-counts/{s.count.pk}/submit/"),
    ("POST", "stock-counts/<int:pk>/approve/"): Case(
        "admin,manager=200 staff=403 *=404 anon=401", path=lambda s: f"stock-counts/{s.submitted_count.pk}/approve/",
        body={"decision": "approve"}),
    ("POST", "stock-counts/<int:pk>/cancel/"): Case("admin,manager,staff=200 *=404 anon=401",
                                                    path=lambda s: f"stock-counts/{s.count.pk}/cancel/"),
    # --- workflows (SPEC §5) ---
    ("GET", "purchase-requests/"): Case(READ_ALL),
    ("POST", "purchase-requests/"): Case("viewer=201 *=403 anon=401", body=lambda s, u: {
        "warehouse": s.w.wh_a.pk, "product": s.w.product.pk, "quantity": 1}),
    ("GET", "purchase-requests/<int:pk>/"): Case("admin,manager,staff,viewer=200 manager_b,staff_b=404 anon=401",
                                                 path=lambda s: f"purchase-requests/{s.purchase.pk}/"),
    ("POST", "purchase-requests/approve/"): Case(
        "admin,manager,staff=200 viewer=403 manager_b,staff_b=404 anon=401",
        body=lambda s, u: {"id": s.purchase.pk, "decision": "approve"}),
    ("POST", "purchase-requests/cancel/"): Case("viewer=200 admin,manager,staff=403 manager_b,staff_b=404 anon=401",
                                                body=lambda s, u: {"id": s.purchase.pk}),
    ("GET", "transfer-requests/"): Case(READ_ALL),
    ("POST", "transfer-requests/"): Case("admin,manager=201 *=403 anon=401", body=lambda s, u: {
        "source_warehouse": s.w.wh_a.pk, "destination_warehouse": s.wh_c.pk, "product": s.w.product.pk,
        "quantity": 1}),
    ("GET", "transfer-requests/<int:pk>/"): Case("admin,manager,staff=200 viewer,manager_b,staff_b=404 anon=401",
                                                 path=lambda s: f"transfer-requests/{s.transfer.pk}/"),
    ("POST", "transfer-requests/approve/"): Case(
        "admin=200 manager,staff=403 viewer,manager_b,staff_b=404 anon=401",
        body=lambda s, u: {"id": s.transfer.pk, "decision": "approve"}),
    # --- transfers that travel (SPEC §11): the source's people ship, the destination's (C: unmanaged) receive ---
    ("POST", "transfer-requests/<int:pk>/ship/"): Case(
        "admin,manager,staff=200 viewer,manager_b,staff_b=404 anon=401", body={},
        path=lambda s: f"transfer-requests/{s.approved_transit.pk}/ship/"),
    ("POST", "transfer-requests/<int:pk>/receive/"): Case(
        "admin=200 manager,staff=403 viewer,manager_b,staff_b=404 anon=401",
        body=lambda s, u: {"lines": [{"line": s.shipped_transit.lines.get().pk, "accepted": 1, "rejected": 0}]},
        path=lambda s: f"transfer-requests/{s.shipped_transit.pk}/receive/"),
    ("POST", "transfer-requests/<int:pk>/close/"): Case(
        "admin=200 manager,staff=403 viewer,manager_b,staff_b=404 anon=401", body={"reason": "truck lost"},
        path=lambda s: f"transfer-requests/{s.shipped_transit.pk}/close/"),
    ("POST", "transfer-requests/<int:pk>/cancel/"): Case(
        "admin,manager=200 staff=403 viewer,manager_b,staff_b=404 anon=401", body={},
        path=lambda s: f"transfer-requests/{s.managers_transfer.pk}/cancel/"),
    # --- read side (SPEC §7) and operations (§8) ---
    ("GET", "dashboard/admin/"): Case("admin=200 *=403 anon=401"),
    ("GET", "dashboard/warehouse/"): Case("admin,manager,staff=200 manager_b,staff_b=404 viewer=403 anon=401",
                                          path=lambda s: f"dashboard/warehouse/?warehouse={s.w.wh_a.pk}"),
    ("GET", "reports/stock-movements/"): Case(
        "admin,manager,staff=200 manager_b,staff_b=404 viewer=403 anon=401",
        path=lambda s: f"reports/stock-movements/?warehouse={s.w.wh_a.pk}&format=json"),
    # --- webhooks (SPEC §16): admins all, a manager their own endpoints and warehouses ---
    ("GET", "webhooks/"): Case("admin,manager,manager_b=200 viewer,staff,staff_b=403 anon=401"),
    ("POST", "webhooks/"): Case("admin,manager=201 *=403 anon=401", body=lambda s, u: {
        "url": WEBHOOK_URL, "events": ["stock.changed"], "warehouses": [s.w.wh_a.pk]}),
    ("GET", "webhooks/<pk>/"): Case(WEBHOOKS.format(ok=200), path=lambda s: f"webhooks/{s.webhook.pk}/"),
    ("PATCH", "webhooks/<pk>/"): Case(WEBHOOKS.format(ok=200), body={"description": "shop"},
                                      path=lambda s: f"webhooks/{s.webhook.pk}/"),
    ("DELETE", "webhooks/<pk>/"): Case(WEBHOOKS.format(ok=204), path=lambda s: f"webhooks/{s.webhook.pk}/"),
    ("POST", "webhooks/<pk>/rotate-secret/"): Case(WEBHOOKS.format(ok=200), body={},
                                                   path=lambda s: f"webhooks/{s.webhook.pk}/rotate-secret/"),
    ("POST", "webhooks/<pk>/ping/"): Case(WEBHOOKS.format(ok=202), body={},
                                          path=lambda s: f"webhooks/{s.webhook.pk}/ping/"),
    ("GET", "webhooks/<pk>/deliveries/"): Case(WEBHOOKS.format(ok=200),
                                               path=lambda s: f"webhooks/{s.webhook.pk}/deliveries/"),
    ("POST", "webhooks/<pk>/deliveries/<delivery_id>/redeliver/"): Case(
        WEBHOOKS.format(ok=202), body={},
        path=lambda s: f"webhooks/{s.webhook.pk}/deliveries/{s.webhook.deliveries.get().pk}/redeliver/"),
    ("GET", "health/"): Case("*=200"),
    ("GET", "schema/"): Case("*=200"),
    ("GET", "docs/"): Case("*=200"),
}
