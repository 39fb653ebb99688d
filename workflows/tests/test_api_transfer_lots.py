"""Transfers keep lot identity (SPEC §14) through the API: a direct approval and a shipment take first-expired-
first-out at the source (one `transfer_out` per lot, expired lots never), the units arrive in the same lots,
each line of a lot-tracked product shows `lots`, a receipt may name a lot (else it fills the lots in the order
shipped), rejected and lost units are recorded per lot, and `incoming` stays per stock row."""

import datetime

import pytest
import time_machine

from accounts.models import AuditEvent
from inventory.lots import Lot, StockLot
from inventory.models import Product, Stock, StockMovement
from inventory.services import assign_stock
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches
from workflows.models import TransferLine, TransferLineLot, TransferRequest

pytestmark = pytest.mark.django_db

LIST = "/api/transfer-requests/"
APPROVE = "/api/transfer-requests/approve/"
DAY = datetime.date(2027, 3, 10)
NOON = datetime.datetime(2027, 3, 10, 12, 0, tzinfo=datetime.UTC)


def days(n):
    return datetime.timedelta(days=n)


def url(transfer, action):
    return f"{LIST}{transfer.pk}/{action}/"


def balances(warehouse, product) -> dict[str, int]:
    return {b.lot.code: b.quantity for b in StockLot.objects.filter(stock__warehouse=warehouse, stock__product=product)
            .select_related("lot")}


def buckets(warehouse, product) -> tuple[int, int, int]:
    row = Stock.objects.filter(warehouse=warehouse, product=product).first()
    return (row.quantity, row.reserved, row.incoming) if row else (0, 0, 0)


def state() -> dict:
    """Everything a transfer action may change; equal states mean nothing was written."""
    return {
        "transfers": list(TransferRequest.objects.order_by("pk").values_list("pk", "status")),
        "lines": list(TransferLine.objects.order_by("pk").values_list(
            "pk", "shipped_quantity", "received_quantity", "rejected_quantity")),
        "lots": list(TransferLineLot.objects.order_by("pk").values_list("pk", "shipped", "received", "rejected")),
        "stock": list(Stock.objects.order_by("pk").values_list("pk", "quantity", "reserved", "incoming", "version")),
        "balances": sorted(StockLot.objects.values_list("pk", "quantity")),
        "movements": StockMovement.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def lots_of(line: dict) -> list[tuple]:
    return [(entry["code"], entry["shipped"], entry["received"], entry["rejected"]) for entry in line["lots"]]


@pytest.fixture
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def milk(world, frozen):
    """Warehouse A holds lots of milk B1 (expires DAY+5, 4), A1 (DAY+2, 3), N1 (no date, 5) and X1 (expired the
    day before DAY, 2): 14 units, 12 not expired; and 6 bolts (not lot-tracked)."""
    product = ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)
    with time_machine.travel(NOON - days(3), tick=False):
        for code, expires_on, quantity in (("B1", DAY + days(5), 4), ("A1", DAY + days(2), 3), ("N1", None, 5),
                                           ("X1", DAY - days(1), 2)):
            assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=quantity, lot=code,
                         expires_on=expires_on)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=6)
    return product


def create(world, make_client, milk, quantity, mode, bolts=0):
    lines = [{"product": milk.pk, "quantity": quantity}] + ([{"product": world.product.pk, "quantity": bolts}]
                                                            if bolts else [])
    response = make_client(world.manager_a).post(LIST, {
        "source_warehouse": world.wh_a.pk, "destination_warehouse": world.wh_b.pk, "mode": mode, "lines": lines,
    }, format="json")
    assert response.status_code == 201, response.content
    return TransferRequest.objects.get(pk=response.json()["id"])


def approve(world, make_client, transfer):
    return make_client(world.admin).post(APPROVE, {"id": transfer.pk, "decision": "approve"}, format="json")


def milk_line(transfer) -> TransferLine:
    return TransferLine.objects.get(transfer=transfer, product__tracking=Product.Tracking.LOT)


@pytest.fixture
def shipped(world, make_client, milk):
    """An in-transit transfer A → B of 8 milk (shipped FEFO: A1 3, B1 4, N1 1) and 2 bolts."""
    transfer = create(world, make_client, milk, 8, "in_transit", bolts=2)
    assert approve(world, make_client, transfer).status_code == 200
    response = make_client(world.staff_a).post(url(transfer, "ship"), {}, format="json")
    assert response.status_code == 200, response.content
    return transfer


def receive(world, make_client, transfer, *entries, who="staff_b"):
    return make_client(getattr(world, who)).post(url(transfer, "receive"), {"lines": list(entries)}, format="json")


# --- direct approval ---------------------------------------------------------------------------------

def test_a_direct_approval_takes_fefo_and_the_units_arrive_in_the_same_lots(world, make_client, milk):
    transfer = create(world, make_client, milk, 5, "direct", bolts=2)
    response = approve(world, make_client, transfer)
    assert response.status_code == 200, response.content
    assert balances(world.wh_a, milk) == {"A1": 0, "B1": 2, "N1": 5, "X1": 2}
    assert balances(world.wh_b, milk) == {"A1": 3, "B1": 2}
    assert (buckets(world.wh_a, milk), buckets(world.wh_b, milk)) == ((9, 0, 0), (5, 0, 0))
    moved = list(StockMovement.objects.filter(product=milk, reference_type="transfer_request").order_by("pk")
                 .values_list("kind", "warehouse__code", "lot__code", "quantity_change"))
    assert moved == [("transfer_out", "A", "A1", -3), ("transfer_out", "A", "B1", -2),
                     ("transfer_in", "B", "A1", 3), ("transfer_in", "B", "B1", 2)]
    by_product = {line["product"]: line for line in response.json()["lines"]}
    assert lots_of(by_product[milk.pk]) == [("A1", 3, 3, 0), ("B1", 2, 2, 0)]
    a1 = Lot.objects.get(product=milk, code="A1")
    assert by_product[milk.pk]["lots"][0] == {"lot": a1.pk, "code": "A1", "expires_on": "2027-03-12", "shipped": 3,
                                              "received": 3, "rejected": 0}
    assert "lots" not in by_product[world.product.pk]  # a product that is not lot-tracked: unchanged shape
    audit = AuditEvent.objects.get(action="transfer_request.approve")
    assert [entry[1:] for entry in audit.data["lots"]] == [[a1.pk, 3], [Lot.objects.get(code="B1").pk, 2]]
    assert ledger_mismatches() == []


def test_a_direct_approval_needs_units_that_are_not_expired(world, make_client, milk):
    transfer = create(world, make_client, milk, 13, "direct")
    before = state()
    response = approve(world, make_client, transfer)
    assert response.status_code == 409
    assert response.json() | {"detail": ""} == {"detail": "", "code": "insufficient_stock", "available": 12,
                                                  "requested": 13, "product": milk.pk}
    assert state() == before


def test_an_in_transit_approval_may_hold_only_units_that_are_not_expired(world, make_client, milk):
    transfer = create(world, make_client, milk, 13, "in_transit")
    before = state()
    response = approve(world, make_client, transfer)
    assert response.status_code == 409
    assert (response.json()["available"], response.json()["requested"]) == (12, 13)
    assert state() == before


# --- shipping ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a"])
def test_a_shipment_takes_fefo_and_the_line_shows_its_lots(world, make_client, milk, who):
    transfer = create(world, make_client, milk, 8, "in_transit", bolts=2)
    assert approve(world, make_client, transfer).status_code == 200
    response = make_client(getattr(world, who)).post(url(transfer, "ship"), {}, format="json")
    assert response.status_code == 200, response.content
    assert balances(world.wh_a, milk) == {"A1": 0, "B1": 0, "N1": 4, "X1": 2}
    assert (buckets(world.wh_a, milk), buckets(world.wh_b, milk)) == ((6, 0, 0), (0, 0, 8))
    assert balances(world.wh_b, milk) == {}  # units in transit are in no warehouse's lots
    out = list(StockMovement.objects.filter(product=milk, kind="transfer_out").order_by("pk")
               .values_list("lot__code", "quantity_change", "quantity_after"))
    assert out == [("A1", -3, 11), ("B1", -4, 7), ("N1", -1, 6)]
    by_product = {line["product"]: line for line in response.json()["lines"]}
    assert lots_of(by_product[milk.pk]) == [("A1", 3, 0, 0), ("B1", 4, 0, 0), ("N1", 1, 0, 0)]
    assert "lots" not in by_product[world.product.pk]
    detail = make_client(world.staff_b).get(f"{LIST}{transfer.pk}/").json()
    assert lots_of({line["product"]: line for line in detail["lines"]}[milk.pk]) == lots_of(by_product[milk.pk])


def test_an_approved_line_of_a_lot_tracked_product_shows_no_lots_until_it_ships(world, make_client, milk):
    transfer = create(world, make_client, milk, 2, "in_transit")
    response = approve(world, make_client, transfer)
    assert response.json()["lines"][0]["lots"] == []


@pytest.mark.parametrize(("who", "status"), [("staff_b", 403), ("viewer", 404)])
def test_others_may_not_ship_a_lot_tracked_transfer(world, make_client, milk, who, status):
    transfer = create(world, make_client, milk, 2, "in_transit")
    assert approve(world, make_client, transfer).status_code == 200
    before = state()
    assert make_client(getattr(world, who)).post(url(transfer, "ship"), {}, format="json").status_code == status
    assert state() == before


def test_units_that_expired_since_approval_are_not_shipped_and_the_transfer_stays_approved(world, make_client, milk):
    transfer = create(world, make_client, milk, 12, "in_transit")
    assert approve(world, make_client, transfer).status_code == 200
    with time_machine.travel(NOON + days(3), tick=False):  # A1 (3 units) has expired: 9 may still leave
        before = state()
        response = make_client(world.staff_a).post(url(transfer, "ship"), {}, format="json")
        assert response.status_code == 409, response.content
        assert response.json() | {"detail": ""} == {"detail": "", "code": "insufficient_stock", "available": 9,
                                                      "requested": 12, "product": milk.pk}
        assert state() == before
    assert TransferRequest.objects.get(pk=transfer.pk).status == "approved"
    assert buckets(world.wh_a, milk) == (14, 12, 0)


def test_a_lot_tracked_list_reads_the_lots_of_a_page_in_one_query(world, make_client, milk,
                                                                  django_assert_num_queries):
    for _ in range(3):
        transfer = create(world, make_client, milk, 1, "direct", bolts=1)
        assert approve(world, make_client, transfer).status_code == 200
    client = make_client(world.staff_a)
    with django_assert_num_queries(5):  # session, count, page, lines, and the lots of the lot-tracked lines
        body = client.get(LIST, {"page_size": 50}).json()
    lines = [line for item in body["results"] for line in item["lines"] if "lots" in line]
    assert [lots_of(line) for line in lines] == [[("A1", 1, 1, 0)]] * 3  # A1 expires first and holds 3


# --- receiving ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "manager_b", "staff_b"])
def test_a_receipt_naming_a_lot_receives_into_that_lot(world, make_client, shipped, milk, who):
    line = milk_line(shipped)
    response = receive(world, make_client, shipped, {"line": line.pk, "lot": "b1", "accepted": 3, "rejected": 1},
                       who=who)
    assert response.status_code == 200, response.content
    assert balances(world.wh_b, milk) == {"B1": 3}
    assert buckets(world.wh_b, milk) == (3, 0, 4)
    moved = list(StockMovement.objects.filter(product=milk, kind="transfer_in").values_list("lot__code",
                                                                                             "quantity_change"))
    assert moved == [("B1", 3)]
    by_product = {item["product"]: item for item in response.json()["lines"]}
    assert lots_of(by_product[milk.pk]) == [("A1", 3, 0, 0), ("B1", 4, 3, 1), ("N1", 1, 0, 0)]
    assert (by_product[milk.pk]["received_quantity"], by_product[milk.pk]["rejected_quantity"]) == (3, 1)
    assert response.json()["status"] == "in_transit"


@pytest.mark.parametrize(("who", "status"), [("staff_a", 403), ("viewer", 404)])
def test_others_may_not_receive_a_lot(world, make_client, shipped, who, status):
    before = state()
    response = receive(world, make_client, shipped, {"line": milk_line(shipped).pk, "lot": "A1", "accepted": 1},
                       who=who)
    assert response.status_code == status
    assert state() == before


def test_a_line_may_appear_once_per_lot(world, make_client, shipped, milk):
    line = milk_line(shipped)
    response = receive(world, make_client, shipped, {"line": line.pk, "lot": "N1", "accepted": 1},
                       {"line": line.pk, "lot": "A1", "accepted": 2, "rejected": 1})
    assert response.status_code == 200, response.content
    assert balances(world.wh_b, milk) == {"A1": 2, "N1": 1}
    assert [lots_of(item) for item in response.json()["lines"] if "lots" in item] == [
        [("A1", 3, 2, 1), ("B1", 4, 0, 0), ("N1", 1, 1, 0)]]


def test_without_a_lot_accepted_units_fill_the_lots_in_shipped_order_then_rejected_ones(world, make_client, shipped,
                                                                                       milk):
    line = milk_line(shipped)
    bolts = TransferLine.objects.get(transfer=shipped, product=world.product)
    response = receive(world, make_client, shipped, {"line": line.pk, "accepted": 5, "rejected": 2},
                       {"line": bolts.pk, "accepted": 2})
    assert response.status_code == 200, response.content
    # accepted: A1 3, B1 2; then rejected: B1 2 (B1 is full), N1 untouched.
    assert balances(world.wh_b, milk) == {"A1": 3, "B1": 2}
    assert lots_of({i["product"]: i for i in response.json()["lines"]}[milk.pk]) == [
        ("A1", 3, 3, 0), ("B1", 4, 2, 2), ("N1", 1, 0, 0)]
    response = receive(world, make_client, shipped, {"line": line.pk, "accepted": 1})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    assert balances(world.wh_b, milk) == {"A1": 3, "B1": 2, "N1": 1}
    assert buckets(world.wh_b, milk) == (6, 0, 0)
    audit = AuditEvent.objects.filter(action="transfer_request.receive").order_by("pk").first()
    n1 = Lot.objects.get(product=milk, code="N1")
    assert [line.pk, n1.pk, 1, 0] in AuditEvent.objects.filter(
        action="transfer_request.receive").order_by("pk").last().data["lots"]
    assert len(audit.data["lots"]) == 2
    assert ledger_mismatches() == []


def test_more_than_a_named_lot_has_outstanding_is_400_naming_the_line(world, make_client, shipped):
    line = milk_line(shipped)
    before = state()
    response = receive(world, make_client, shipped, {"line": line.pk, "lot": "A1", "accepted": 3, "rejected": 1})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["line"], body["lot"], body["outstanding"]) == ("invalid_quantity", line.pk, "A1", 3)
    assert state() == before


@pytest.mark.parametrize("code", ["X1", "ZZZ"])
def test_a_lot_not_shipped_on_the_line_is_400_naming_the_line(world, make_client, shipped, code):
    line = milk_line(shipped)
    before = state()
    response = receive(world, make_client, shipped, {"line": line.pk, "lot": code, "accepted": 1})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["line"]) == ("invalid", line.pk)
    assert state() == before


def test_a_lot_named_on_a_line_that_is_not_lot_tracked_is_400_not_lot_tracked(world, make_client, shipped):
    bolts = TransferLine.objects.get(transfer=shipped, product=world.product)
    before = state()
    response = receive(world, make_client, shipped, {"line": bolts.pk, "lot": "A1", "accepted": 1})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["line"]) == ("not_lot_tracked", bolts.pk)
    assert state() == before


@pytest.mark.parametrize("entries", [
    [{"lot": "A1", "accepted": 1}, {"lot": "a1", "accepted": 1}],  # the same lot twice (compared like SKUs)
    [{"accepted": 1}, {"accepted": 1}],  # the line twice without a lot
])
def test_the_same_lot_or_line_twice_in_one_receipt_is_400(world, make_client, shipped, entries):
    line = milk_line(shipped)
    before = state()
    response = receive(world, make_client, shipped, *[{"line": line.pk, **entry} for entry in entries])
    assert response.status_code == 400
    assert "lines" in response.json()
    assert state() == before


@pytest.mark.parametrize("entries", [
    [{"lot": "A1", "accepted": 1}, {"accepted": 1}],
    [{"accepted": 1}, {"lot": "A1", "accepted": 1}],
])
def test_a_line_with_and_without_a_lot_in_one_receipt_is_400_naming_the_line(world, make_client, shipped, entries):
    line = milk_line(shipped)
    before = state()
    response = receive(world, make_client, shipped, *[{"line": line.pk, **entry} for entry in entries])
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["line"]) == ("invalid", line.pk)
    assert state() == before


def test_a_zero_entry_naming_a_lot_changes_nothing(world, make_client, shipped):
    before = state()
    response = receive(world, make_client, shipped, {"line": milk_line(shipped).pk, "lot": "A1", "accepted": 0})
    assert response.status_code == 200
    assert state() == before


# --- closing -----------------------------------------------------------------------------------------

def test_closing_writes_each_lots_outstanding_units_off_as_rejected(world, make_client, shipped, milk):
    line = milk_line(shipped)
    assert receive(world, make_client, shipped, {"line": line.pk, "lot": "B1", "accepted": 2}).status_code == 200
    movements = StockMovement.objects.count()
    response = make_client(world.manager_b).post(url(shipped, "close"), {"reason": "truck lost"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    by_product = {item["product"]: item for item in response.json()["lines"]}
    assert lots_of(by_product[milk.pk]) == [("A1", 3, 0, 3), ("B1", 4, 2, 2), ("N1", 1, 0, 1)]
    assert (by_product[milk.pk]["received_quantity"], by_product[milk.pk]["rejected_quantity"]) == (2, 6)
    assert buckets(world.wh_b, milk) == (2, 0, 0)
    assert StockMovement.objects.count() == movements  # units lost in transit write no ledger row
    lost = AuditEvent.objects.get(action="transfer_request.close").data["lost_lots"]
    assert sorted(units for _, _, units in lost) == [1, 2, 3]
    assert ledger_mismatches() == []


def test_the_selectors_a_recall_reads_find_a_lot_in_transit_and_rejected(world, make_client, shipped):
    from workflows import selectors

    line = milk_line(shipped)
    assert receive(world, make_client, shipped, {"line": line.pk, "lot": "B1", "accepted": 1,
                                                 "rejected": 2}).status_code == 200
    b1 = Lot.objects.get(code="B1")
    assert list(selectors.lot_in_transit(b1.pk)) == [(shipped.pk, world.wh_a.pk, world.wh_b.pk, 1)]
    assert list(selectors.lot_rejected(b1.pk)) == [(shipped.pk, world.wh_b.pk, 2)]
    a1 = Lot.objects.get(code="A1")
    assert list(selectors.lot_in_transit(a1.pk)) == [(shipped.pk, world.wh_a.pk, world.wh_b.pk, 3)]
    assert list(selectors.lot_rejected(a1.pk)) == []
