"""Units in transit on the dashboards: shipped, not yet received, rejected or written off."""

import pytest

from workflows.models import TransferLine
from workflows.services import create_transfer_request, decide_transfer_request, receive_transfer, ship_transfer
from workflows.tests.conftest import put_stock

pytestmark = pytest.mark.django_db


def test_dashboards_show_units_in_transit_to_and_from_each_warehouse(world, make_client):
    put_stock(world, world.wh_a, 10)
    put_stock(world, world.wh_a, 5, world.product2)
    transfer = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                       lines=[(world.product, 4), (world.product2, 2)], mode="in_transit")
    decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    ship_transfer(actor=world.staff_a, transfer_id=transfer.pk)
    line = TransferLine.objects.get(transfer=transfer, product=world.product)
    receive_transfer(actor=world.staff_b, transfer_id=transfer.pk,
                     receipts=[{"line": line.pk, "accepted": 2, "rejected": 1}])

    admin = make_client(world.admin)
    assert admin.get("/api/dashboard/admin/").json()["totals"]["units_in_transit"] == 3
    source = make_client(world.manager_a).get("/api/dashboard/warehouse/", {"warehouse": world.wh_a.pk}).json()
    destination = make_client(world.staff_b).get("/api/dashboard/warehouse/", {"warehouse": world.wh_b.pk}).json()
    assert (source["totals"]["units_in_transit_in"], source["totals"]["units_in_transit_out"]) == (0, 3)
    assert (destination["totals"]["units_in_transit_in"], destination["totals"]["units_in_transit_out"]) == (3, 0)
    assert destination["totals"]["units_on_hand"] == 2


def test_the_movement_report_lists_transit_movements(world, make_client):
    put_stock(world, world.wh_a, 10)
    transfer = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                       product=world.product, quantity=4, mode="in_transit")
    decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    line = TransferLine.objects.get(transfer=transfer)
    receive_transfer(actor=world.admin, transfer_id=transfer.pk, receipts=[{"line": line.pk, "accepted": 4}])
    body = make_client(world.admin).get("/api/reports/stock-movements/", {"format": "json"}).json()
    rows = {(row["warehouse"], row["product"]): row for row in body["rows"]}
    assert (rows[(world.wh_a.pk, world.product.pk)]["out"], rows[(world.wh_b.pk, world.product.pk)]["in"]) == (4, 4)
    assert body["movement_count"] == 3  # assign, transfer_out, transfer_in
    csv = make_client(world.admin).get("/api/reports/stock-movements/", {"format": "csv"})
    csv = b"".join(csv.streaming_content).decode()
    assert csv.count("transfer_out") == 1 and csv.count("transfer_in") == 1
