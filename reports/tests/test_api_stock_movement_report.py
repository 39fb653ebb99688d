import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.tests.factories import UserFactory
from inventory import services
from inventory.models import Stock, StockMovement
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory
from workflows.models import PurchaseRequest, TransferRequest
from workflows.tests.history import at, record_history

URL = "/api/reports/stock-movements/"
Kind = StockMovement.Kind
HEADER = ["created_at", "warehouse", "sku", "product", "kind", "quantity_change", "quantity_after", "actor",
          "reference", "reason"]


def _mixed_day(world):
    """Yesterday's history (an opening balance), then today's assign, adjusts, a purchase and a transfer."""
    yesterday = timezone.now() - timedelta(days=1, hours=1)
    record_history(warehouse=world.wh_a, product=world.product, actor=world.manager_a,
                 entries=[(yesterday, 40, Kind.ASSIGN)])
    services.assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=world.product, quantity=25)
    services.assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=world.product2, quantity=9)
    services.adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-3, reason="damage")
    services.adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product2, delta=2, reason="found")
    purchase = PurchaseRequest.objects.create(warehouse=world.wh_a, product=world.product, quantity=7,
                                              requested_by=world.viewer)
    services.deduct_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, quantity=7,
                          reference=services.Reference("purchase_request", purchase.pk))
    transfer = TransferRequest.objects.create(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                              product=world.product, quantity=11, requested_by=world.manager_a)
    services.move_stock(actor=world.admin, source=world.wh_a, destination=world.wh_b, product=world.product,
                        quantity=11, reference=services.Reference("transfer_request", transfer.pk))
    return purchase, transfer


def _get(client, **params):
    return client.get(URL, params)


def test_opening_plus_in_minus_out_is_closing_for_every_row_of_a_mixed_day(world, make_client):
    _mixed_day(world)
    body = _get(make_client(world.admin), format="json").json()
    assert body["movement_count"] == 7  # today's: 2 assigns, 2 adjusts, 1 purchase, transfer out and in
    by_key = {(row["warehouse"], row["product"]): row for row in body["rows"]}
    assert set(by_key) == {(world.wh_a.pk, world.product.pk), (world.wh_a.pk, world.product2.pk),
                           (world.wh_b.pk, world.product.pk)}
    for (warehouse, product), row in by_key.items():
        assert row["opening"] + row["in"] - row["out"] == row["closing"]
        assert row["closing"] == Stock.objects.get(warehouse=warehouse, product=product).quantity
        last = StockMovement.objects.filter(warehouse=warehouse, product=product).order_by("-id").first()
        assert row["closing"] == last.quantity_after
    assert [by_key[(world.wh_a.pk, world.product.pk)][k] for k in ("opening", "in", "out", "closing")] == [
        40, 25, 21, 44]
    assert by_key[(world.wh_b.pk, world.product.pk)]["in"] == 11


def test_admin_report_for_one_warehouse_leaves_the_others_out(world, make_client):
    _mixed_day(world)
    body = _get(make_client(world.admin), format="json", warehouse=world.wh_b.pk).json()
    assert [(r["warehouse"], r["in"]) for r in body["rows"]] == [(world.wh_b.pk, 11)]
    assert body["movement_count"] == 1


def test_csv_has_the_header_and_one_line_per_movement(world, make_client):
    purchase, transfer = _mixed_day(world)
    response = _get(make_client(world.manager_a), format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="stock-movements_A_daily_{today}.csv"'
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == HEADER
    assert len(lines) == 1 + 6  # warehouse A only: the transfer_in is in B
    rows = [dict(zip(HEADER, line, strict=True)) for line in lines[1:]]
    assert [r["kind"] for r in rows] == ["assign", "assign", "adjust", "adjust", "purchase", "transfer_out"]
    assert rows[4]["reference"] == f"purchase_request:{purchase.pk}"
    assert rows[5]["reference"] == f"transfer_request:{transfer.pk}"
    assert rows[0]["reference"] == "" and rows[2]["reason"] == "damage" and rows[2]["actor"] == "staff_a"
    assert (rows[2]["quantity_change"], rows[2]["quantity_after"]) == ("-3", "62")


def test_csv_times_are_iso_in_the_project_time_zone(world, berlin, make_client):
    record_history(warehouse=world.wh_a, product=world.product,
                   entries=[(at(berlin, 2026, 1, 31, 23, 59), 5, "assign")])
    response = _get(make_client(world.admin), format="csv", period="monthly", date="2026-01-01")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[1].startswith("2026-01-31T23:59:00+01:00,A,BOLT-1,Bolt,assign,5,5,manager_a,,")


def test_csv_neutralises_spreadsheet_formulas(world, make_client):
    product = ProductFactory(sku="+SKU", name="=HYPERLINK(\"http://x\")")
    services.assign_stock(actor=world.manager_a, warehouse=world.wh_a, product=product, quantity=1)
    services.adjust_stock(actor=world.manager_a, warehouse=world.wh_a, product=product, delta=-1, reason="loss")
    lines = list(csv.reader(io.StringIO(b"".join(_get(make_client(world.admin), format="csv").streaming_content)
                                        .decode())))
    assert lines[1][2:4] == ["'+SKU", "'=HYPERLINK(\"http://x\")"]
    assert lines[2][5] == "-1"  # numbers keep their sign


def test_pdf_is_the_default_and_shows_skus_totals_and_page_numbers(world, make_client):
    _mixed_day(world)
    response = _get(make_client(world.staff_a))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="stock-movements_A_daily_{today}.pdf"'
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "BOLT-1" in text and "NUT-1" in text
    assert "Time zone: UTC" in text and "Generated at" in text and "by staff_a" in text
    summary = reader.pages[0].extract_text()
    assert "40 25 21 44" in summary  # BOLT-1: opening, in, out, closing
    assert "0 11 0 11" in summary  # NUT-1: 9 assigned + 2 found
    assert f"Page 1 of {len(reader.pages)}" in summary
    assert "Daily net movement" in summary
    assert "purchase_request:" in text and "transfer_out" in text


def test_pdf_repeats_the_header_and_numbers_every_page(world, berlin, make_client):
    start = at(berlin, 2026, 2, 2, 8, 0)
    entries = [(start + timedelta(minutes=i), 3 if i % 2 == 0 else -1, Kind.ADJUST, "count") for i in range(150)]
    record_history(warehouse=world.wh_a, product=world.product, entries=entries)
    response = _get(make_client(world.admin), period="monthly", date="2026-02-10", warehouse=world.wh_a.pk)
    assert response["Content-Disposition"].endswith('filename="stock-movements_A_monthly_2026-02-01.pdf"')
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    pages = len(reader.pages)
    assert pages >= 4  # title page plus 150 movement rows at about 55 per page
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {pages}" in text
        if number > 1:
            assert "Time" in text and "Quantity" not in text and "Reference" in text
    assert "0 225 75 150" in reader.pages[0].extract_text()


def test_pdf_of_an_empty_period_still_renders(world, make_client):
    response = _get(make_client(world.admin), period="weekly", date="2020-01-01")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages)
    assert "No movements in this period." in text and "Page 2 of 2" in text


def test_pdf_survives_text_outside_latin1_and_pdf_specials(world, make_client):
    product = ProductFactory(sku="X(1)\\", name="Schraube ü 日本 (long) " + "x" * 150)
    services.assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=3)
    response = _get(make_client(world.admin))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages)
    assert "X(1)\\" in text and "Schraube ü" in text


def test_manager_without_warehouse_gets_their_only_one(world, make_client):
    _mixed_day(world)
    body = _get(make_client(world.manager_b), format="json").json()
    assert {row["warehouse"] for row in body["rows"]} == {world.wh_b.pk}


def test_manager_of_several_warehouses_must_choose_one(world, make_client):
    WarehouseFactory(code="C", manager=world.manager_a)
    response = _get(make_client(world.manager_a), format="json")
    assert response.status_code == 400
    assert "warehouse" in response.json()
    assert _get(make_client(world.manager_a), format="json", warehouse=world.wh_a.pk).status_code == 200


def test_manager_without_any_warehouse_gets_404(world, make_client):
    lonely = UserFactory(manager=True)
    assert _get(make_client(lonely), format="json").status_code == 404


@pytest.mark.parametrize("who", ["manager_a", "staff_a"])
def test_another_warehouses_report_is_not_found(world, who, make_client):
    response = _get(make_client(getattr(world, who)), format="json", warehouse=world.wh_b.pk)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_warehouse_is_not_found_for_admin(world, make_client):
    assert _get(make_client(world.admin), format="json", warehouse=424242).status_code == 404


def test_schema_documents_the_404_of_an_unknown_warehouse(world, make_client):
    schema = make_client(None).get("/api/schema/?format=json").json()
    assert "404" in schema["paths"][URL]["get"]["responses"]


def test_viewer_is_denied_reports(world, make_client):
    response = _get(make_client(world.viewer), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_user_gets_401(anon):
    assert anon.get(URL).status_code == 401


@pytest.mark.parametrize(("params", "field"), [
    ({"format": "xml"}, "format"),
    ({"period": "yearly"}, "period"),
    ({"date": "2026-02-30"}, "date"),
    ({"date": "abc"}, "date"),
    ({"date": "9999-12-31"}, "date"),
    ({"date": "0001-01-01"}, "date"),
    ({"warehouse": "abc"}, "warehouse"),
    ({"warehouse": str(10**30)}, "warehouse"),
])
def test_bad_parameters_are_a_400_naming_the_field(world, params, field, make_client):
    response = _get(make_client(world.admin), **params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_impossible_date_message_is_clear(world, make_client):
    message = _get(make_client(world.admin), date="2026-02-30").json()["date"][0]
    assert "YYYY-MM-DD" in message


@pytest.mark.parametrize("movements", [52, 53])
def test_page_count_is_exact_when_summary_and_movements_fill_pages(world, berlin, movements, make_client):
    start = at(berlin, 2026, 2, 2, 8, 0)
    products = [ProductFactory() for _ in range(40)]  # the summary spills onto a second page
    for n, product in enumerate(products):
        record_history(warehouse=world.wh_a, product=product, entries=[(start + timedelta(minutes=n), 1, Kind.ASSIGN)])
    extra = [(start + timedelta(hours=2, minutes=i), 1, Kind.ADJUST, "found") for i in range(movements - 40)]
    record_history(warehouse=world.wh_a, product=products[0], entries=extra)
    response = _get(make_client(world.admin), period="monthly", date="2026-02-10")
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    pages = len(reader.pages)
    assert pages == (3 if movements == 52 else 4)
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()


def test_pdf_chart_plots_the_local_daily_net_of_every_day_of_the_period(world, berlin, make_client):
    from unittest import mock

    from reports import pdf

    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (at(berlin, 2026, 3, 2, 0, 10), 10, Kind.ASSIGN),
        (at(berlin, 2026, 3, 3, 12, 0), 1, Kind.ADJUST, "found"),
        (at(berlin, 2026, 3, 3, 23, 50), -4, Kind.ADJUST, "damage"),  # 22:50 UTC: still the 3rd locally
    ])
    with mock.patch("reports.pdf._chart", wraps=pdf._chart) as chart:
        response = _get(make_client(world.admin), period="weekly", date="2026-03-04")
        b"".join(response.streaming_content)
    [(daily,), _kwargs] = chart.call_args
    assert daily == [("2026-03-02", 10), ("2026-03-03", -3), ("2026-03-04", 0), ("2026-03-05", 0),
                     ("2026-03-06", 0), ("2026-03-07", 0), ("2026-03-08", 0)]
