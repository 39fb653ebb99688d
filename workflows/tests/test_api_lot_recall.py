"""A lot's recall (SPEC §14): `/api/lots/{id}/trace/`, `/api/lots/{id}/consumers/` and the lot's ledger
`/api/stock-movements/?lot=`: admins see everything, managers and staff their warehouses' parts (200 with empty
lists when none), viewers 403; aggregated in SQL and paginated whatever the number of movements."""

import datetime

import pytest

from inventory.models import Product, StockMovement
from inventory.services import adjust_stock, assign_stock, fulfil_reservation, reserve_stock
from inventory.tests.factories import ProductFactory
from workflows.models import TransferMode
from workflows.services.purchases import create_purchase_request, decide_purchase_request
from workflows.services.transfers import (
    create_transfer_request,
    decide_transfer_request,
    receive_transfer,
    ship_transfer,
)

pytestmark = pytest.mark.django_db

SOON = datetime.date.today() + datetime.timedelta(days=100)
LATER = datetime.date.today() + datetime.timedelta(days=200)


def trace_url(lot) -> str:
    return f"/api/lots/{lot.pk}/trace/"


def consumers_url(lot) -> str:
    return f"/api/lots/{lot.pk}/consumers/"


@pytest.fixture
def recall(world):
    """Lot S (first to expire) of milk: 20 in A, 10 in B; lot T (later) 5 in A. Then, all taking S by FEFO or by
    name: a purchase of 3 at A, a fulfilment of 4 at A, damage 1 + 2 at A, loss 1 at B, a found 2 at B (in)."""
    milk = ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=20, lot="S", expires_on=SOON)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=milk, quantity=10, lot="S")
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=5, lot="T", expires_on=LATER)
    request = create_purchase_request(actor=world.viewer, warehouse=world.wh_a, product=milk, quantity=3)
    decide_purchase_request(actor=world.staff_a, request_id=request.pk, decision="approve")
    reservation = reserve_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, quantity=4)
    fulfil_reservation(actor=world.staff_a, reservation_id=reservation.pk)
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-1, reason="damage")
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=milk, delta=-2, reason="damage", lot="S")
    adjust_stock(actor=world.staff_b, warehouse=world.wh_b, product=milk, delta=-1, reason="loss")
    adjust_stock(actor=world.staff_b, warehouse=world.wh_b, product=milk, delta=2, reason="found", lot="S")
    lot = milk.lots.get(code="S")
    return {"milk": milk, "lot": lot, "request": request, "reservation": reservation}


def test_an_admin_traces_everything(make_client, world, recall):
    response = make_client(world.admin).get(trace_url(recall["lot"]))
    assert response.status_code == 200, response.data
    assert response.data == {
        "lot": recall["lot"].pk,
        "on_hand": [{"warehouse": world.wh_a.pk, "quantity": 10}, {"warehouse": world.wh_b.pk, "quantity": 11}],
        "in_transit": [],
        "consumed": [  # largest first
            {"reference_type": "reservation", "reason": None, "quantity": 4},
            {"reference_type": None, "reason": "damage", "quantity": 3},
            {"reference_type": "purchase_request", "reason": None, "quantity": 3},
            {"reference_type": None, "reason": "loss", "quantity": 1},
        ],
    }


@pytest.mark.parametrize("who", ["manager_b", "staff_b"])
def test_managers_and_staff_trace_their_warehouses_parts(make_client, world, recall, who):
    response = make_client(getattr(world, who)).get(trace_url(recall["lot"]))
    assert response.status_code == 200
    assert response.data["on_hand"] == [{"warehouse": world.wh_b.pk, "quantity": 11}]
    assert response.data["consumed"] == [{"reference_type": None, "reason": "loss", "quantity": 1}]


def test_a_manager_with_no_part_gets_empty_lists(make_client, world, recall):
    from accounts.tests.factories import UserFactory

    idle = UserFactory(manager=True, username="idle_manager")
    response = make_client(idle).get(trace_url(recall["lot"]))
    assert response.status_code == 200
    assert response.data == {"lot": recall["lot"].pk, "on_hand": [], "in_transit": [], "consumed": []}
    consumers = make_client(idle).get(consumers_url(recall["lot"]))
    assert consumers.status_code == 200 and consumers.data["results"] == []


def test_viewers_are_refused_403_and_an_unknown_lot_is_404(make_client, world, recall):
    for url in (trace_url(recall["lot"]), consumers_url(recall["lot"])):
        response = make_client(world.viewer).get(url)
        assert response.status_code == 403 and response.data["code"] == "permission_denied"
    for url in ("/api/lots/999999/trace/", "/api/lots/999999/consumers/"):
        response = make_client(world.admin).get(url)
        assert response.status_code == 404 and response.data["code"] == "not_found"


def test_consumers_one_row_per_document_newest_first(make_client, world, recall):
    response = make_client(world.admin).get(consumers_url(recall["lot"]))
    assert response.status_code == 200, response.data
    rows = [(r["reference_type"], r["reference_id"], r["reason"], r["quantity"]) for r in response.data["results"]]
    assert rows == [
        (None, None, "loss", 1),
        (None, None, "damage", 3),  # two adjustments, one row per reason
        ("reservation", recall["reservation"].pk, None, 4),
        ("purchase_request", recall["request"].pk, None, 3),
    ]
    assert response.data["count"] == 4
    last = StockMovement.objects.filter(lot=recall["lot"], reason="loss").get().created_at
    assert response.data["results"][0]["last_at"].startswith(last.date().isoformat())


def test_consumers_filter_paginate_and_scope(make_client, world, recall):
    client = make_client(world.admin)
    only = client.get(consumers_url(recall["lot"]), {"reference_type": "reservation"})
    assert [r["reference_id"] for r in only.data["results"]] == [recall["reservation"].pk]
    assert client.get(consumers_url(recall["lot"]), {"reference_type": "order"}).status_code == 400
    first = client.get(consumers_url(recall["lot"]), {"page_size": 3})
    second = client.get(first.data["next"])
    assert len(first.data["results"]) == 3 and len(second.data["results"]) == 1
    assert first.data["count"] == 4
    staff = make_client(world.staff_a).get(consumers_url(recall["lot"]))
    assert {r["reason"] or r["reference_type"] for r in staff.data["results"]} == {"damage", "reservation",
                                                                                   "purchase_request"}


def test_a_lot_sold_one_unit_at_a_time_is_answered_in_a_constant_number_of_queries(
        make_client, world, django_assert_num_queries):
    milk = ProductFactory(tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=60, lot="S")
    for _ in range(40):
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-1, reason="damage")
    lot = milk.lots.get()
    client = make_client(world.admin)
    with django_assert_num_queries(4):  # the user, the lot, the count, the page
        response = client.get(consumers_url(lot))
    assert [(r["reason"], r["quantity"]) for r in response.data["results"]] == [("damage", 40)]
    # the user, the lot, on hand, consumed (+ in transit and rejected units once transfers have lot lines)
    with django_assert_num_queries(6):
        trace = client.get(trace_url(lot))
    assert trace.data["consumed"] == [{"reference_type": None, "reason": "damage", "quantity": 40}]


def test_the_ledger_of_a_lot_is_scoped_and_cursor_paginated(make_client, world, recall):
    lot = recall["lot"]
    admin = make_client(world.admin).get("/api/stock-movements/", {"lot": lot.pk, "page_size": 5})
    assert admin.status_code == 200
    assert len(admin.data["results"]) == 5 and admin.data["next"] and "cursor=" in admin.data["next"]
    assert all(row["lot"] == lot.pk for row in admin.data["results"])
    everything = StockMovement.objects.filter(lot=lot).count()
    seen = len(admin.data["results"]) + len(make_client(world.admin).get(admin.data["next"]).data["results"])
    assert seen == min(everything, 10)
    staff_b = make_client(world.staff_b).get("/api/stock-movements/", {"lot": lot.pk})
    assert {row["warehouse"] for row in staff_b.data["results"]} == {world.wh_b.pk}
    assert make_client(world.viewer).get("/api/stock-movements/", {"lot": lot.pk}).status_code == 403
    assert make_client(world.admin).get("/api/stock-movements/", {"lot": "x"}).status_code == 400


def test_units_shipped_and_not_yet_received_are_in_transit_and_rejected_units_are_consumed(make_client, world):
    """Lot R (20 in A) ships 8 to B; B accepts 3 and rejects 1: 4 are in transit, 1 left the books as rejected."""
    milk = ProductFactory(sku="MILK-R", tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=20, lot="R", expires_on=SOON)
    transfer = create_transfer_request(actor=world.manager_a, source=world.wh_a, destination=world.wh_b, product=milk,
                                       quantity=8, mode=TransferMode.IN_TRANSIT)
    decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    ship_transfer(actor=world.staff_a, transfer_id=transfer.pk)
    line = transfer.lines.get()
    receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                     receipts=[{"line": line.pk, "accepted": 3, "rejected": 1, "lot": "R"}])
    lot = milk.lots.get(code="R")
    for who in ("admin", "manager_a", "staff_b"):  # people of either warehouse see the transfer
        trace = make_client(getattr(world, who)).get(trace_url(lot))
        assert trace.status_code == 200, trace.data
        assert trace.data["in_transit"] == [{"transfer_request": transfer.pk, "quantity": 4}]
        assert {"reference_type": "transfer_request", "reason": "rejected", "quantity": 1} in trace.data["consumed"]
    admin = make_client(world.admin)
    assert admin.get(trace_url(lot)).data["on_hand"] == [{"warehouse": world.wh_a.pk, "quantity": 12},
                                                       {"warehouse": world.wh_b.pk, "quantity": 3}]
    consumers = admin.get(consumers_url(lot), {"reference_type": "transfer_request"}).data["results"]
    assert [(r["reference_id"], r["reason"], r["quantity"]) for r in consumers] == [(transfer.pk, "rejected", 1)]
