"""The tracking switch (SPEC §14): `tracking` on product create and PATCH (admin, manager), only while no stock
row of the product holds units (on hand, reserved, incoming) and no open or submitted count has a line for it
(else 409 `product_has_stock`, nothing changed); on PostgreSQL a switch racing stock operations never lets one
straddle it."""

import pytest

from accounts.models import AuditEvent
from core.testing import run_threads
from inventory.errors import LotRequired, NotLotTracked, ProductHasStock
from inventory.lots import StockLot
from inventory.models import Product, Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, reserve_stock, update_product
from inventory.tests.factories import ProductFactory
from inventory.verification import ledger_mismatches
from workflows.services.counts import cancel_count, open_count

PRODUCTS = "/api/products/"


def detail(product) -> str:
    return f"{PRODUCTS}{product.pk}/"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_admin_and_manager_create_a_lot_tracked_product(make_client, world, who):
    response = make_client(getattr(world, who)).post(
        PRODUCTS, {"sku": "MILK-9", "name": "Milk", "tracking": "lot"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["tracking"] == "lot"
    assert Product.objects.get(sku="MILK-9").tracking == Product.Tracking.LOT


@pytest.mark.django_db
def test_a_new_product_is_not_lot_tracked_by_default_and_every_reader_sees_tracking(make_client, world):
    response = make_client(world.admin).post(PRODUCTS, {"sku": "NAIL-1", "name": "Nail"}, format="json")
    assert response.status_code == 201 and response.data["tracking"] == "none"
    listed = make_client(world.viewer).get(PRODUCTS, {"search": "NAIL-1"})
    assert listed.data["results"][0]["tracking"] == "none"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "manager_a", "manager_b"])
def test_admin_and_managers_switch_an_empty_product_and_it_is_audited(make_client, world, who):
    response = make_client(getattr(world, who)).patch(detail(world.product), {"tracking": "lot"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["tracking"] == "lot"
    event = AuditEvent.objects.filter(action="product.update").latest("id")
    assert (event.data["before"]["tracking"], event.data["after"]["tracking"]) == ("none", "lot")
    back = make_client(getattr(world, who)).patch(detail(world.product), {"tracking": "none"}, format="json")
    assert back.status_code == 200 and back.data["tracking"] == "none"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_switch(make_client, world, who):
    response = make_client(getattr(world, who)).patch(detail(world.product), {"tracking": "lot"}, format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert Product.objects.get(pk=world.product.pk).tracking == Product.Tracking.NONE


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["lots", "", None, 1])
def test_an_unknown_tracking_is_400(make_client, world, value):
    response = make_client(world.admin).patch(detail(world.product), {"tracking": value}, format="json")
    assert response.status_code == 400 and "tracking" in response.data
    assert Product.objects.get(pk=world.product.pk).tracking == Product.Tracking.NONE


def _refused(client, product, tracking="lot"):
    before = (Product.objects.get(pk=product.pk).tracking, AuditEvent.objects.count())
    response = client.patch(detail(product), {"tracking": tracking, "name": "Renamed"}, format="json")
    assert response.status_code == 409, response.data
    assert response.data["code"] == "product_has_stock"
    assert (Product.objects.get(pk=product.pk).tracking, AuditEvent.objects.count()) == before
    assert Product.objects.get(pk=product.pk).name != "Renamed"  # nothing of the PATCH applied


@pytest.mark.django_db
def test_units_on_hand_in_any_warehouse_refuse_the_switch(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=1)
    _refused(make_client(world.manager_a), world.product)


@pytest.mark.django_db
def test_reserved_units_refuse_the_switch(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=2)
    reserve_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=2)
    _refused(make_client(world.admin), world.product)


@pytest.mark.django_db
def test_a_lot_tracked_product_with_lot_balances_cannot_stop_being_tracked(make_client, world):
    milk = ProductFactory(tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="L1")
    _refused(make_client(world.admin), milk, tracking="none")


@pytest.mark.django_db
def test_units_in_transit_refuse_the_switch(make_client, world):
    from workflows.services.transfers import create_transfer_request, decide_transfer_request, ship_transfer

    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    transfer = create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                       lines=[(world.product, 3)], mode="in_transit")
    decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 0
    assert Stock.objects.get(warehouse=world.wh_b, product=world.product).incoming == 3
    _refused(make_client(world.admin), world.product)


@pytest.mark.django_db
def test_an_emptied_product_switches_and_its_old_lots_stay(make_client, world):
    milk = ProductFactory(tracking=Product.Tracking.LOT)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=2, lot="L1")
    adjust_stock(actor=world.admin, warehouse=world.wh_a, product=milk, delta=-2, reason="damage")
    response = make_client(world.admin).patch(detail(milk), {"tracking": "none"}, format="json")
    assert response.status_code == 200 and response.data["tracking"] == "none"
    assert milk.lots.count() == 1 and not StockLot.objects.filter(lot__product=milk, quantity__gt=0).exists()
    milk.refresh_from_db()
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=milk, quantity=4)  # no lot needed now
    assert StockMovement.objects.filter(product=milk).latest("id").lot_id is None


@pytest.mark.django_db
def test_an_open_or_submitted_count_line_refuses_the_switch_until_the_count_ends(make_client, world):
    count = open_count(actor=world.admin, warehouse=world.wh_a, products=[world.product])
    client = make_client(world.admin)
    _refused(client, world.product)
    cancel_count(actor=world.admin, count_id=count.pk)
    assert client.patch(detail(world.product), {"tracking": "lot"}, format="json").status_code == 200


@pytest.mark.django_db
def test_a_patch_that_keeps_tracking_needs_no_empty_product(make_client, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    response = make_client(world.admin).patch(detail(world.product), {"tracking": "none", "name": "Bolt 2"},
                                              format="json")
    assert response.status_code == 200 and response.data["name"] == "Bolt 2"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("existing_row", [True, False])
def test_a_switch_racing_assigns_never_lets_one_straddle_it(world, existing_row):
    """Twelve threads: one switches the product to lot tracking, the others assign with and without a lot,
    into a warehouse whose row exists (locked by the switch) or not yet (created during the switch). Whatever
    wins, every movement fits the tracking the product had when it was written and the ledger (lot balances
    included) is right."""
    if existing_row:
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
        adjust_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, delta=-1, reason="damage")
    product = Product.objects.get(pk=world.product.pk)
    start = StockMovement.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def work(index):
        if index == 5:
            return update_product(actor=world.admin, product=product, tracking=Product.Tracking.LOT)
        fresh = Product.objects.get(pk=product.pk)
        return assign_stock(actor=world.admin, warehouse=world.wh_a, product=fresh, quantity=1,
                            lot="L1" if index % 2 else None)

    results = run_threads(12, work)
    switched = isinstance(results[5], Product)
    assert switched or isinstance(results[5], ProductHasStock), results[5]
    for index, result in enumerate(results):
        if index != 5:
            assert isinstance(result, Stock | LotRequired | NotLotTracked), result
    tracking = Product.objects.get(pk=product.pk).tracking
    assert tracking == (Product.Tracking.LOT if switched else Product.Tracking.NONE)
    movements = list(StockMovement.objects.filter(product=product, id__gt=start))
    if switched:
        # units written before the switch would have refused it: every unit on hand is in a lot
        assert all(movement.lot_id is not None for movement in movements)
    else:
        assert all(movement.lot_id is None for movement in movements)
    assert ledger_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_switch_racing_counts_being_opened_never_leaves_an_open_count_line_of_a_switched_product(world):
    """Rounds of a switch against two counts opened with a line for the product: either the switch wins (and the
    counts, opened after it, see the new tracking) or a count line exists and the switch is refused."""
    for round_ in range(4):
        product = ProductFactory(sku=f"RACE-{round_}")

        def work(index, product=product):
            if index == 0:
                return update_product(actor=world.admin, product=product, tracking=Product.Tracking.LOT)
            return open_count(actor=world.admin, warehouse=world.wh_a if index == 1 else world.wh_b,
                              products=[product])

        results = run_threads(3, work)
        assert isinstance(results[0], Product | ProductHasStock), results[0]
        assert all(not isinstance(result, BaseException) for result in results[1:]), results
        if isinstance(results[0], Product):
            # the switch committed first: the counts were opened after it
            assert all(count.created_at >= results[0].updated_at for count in results[1:])
        assert Product.objects.get(pk=product.pk).tracking == (
            Product.Tracking.LOT if isinstance(results[0], Product) else Product.Tracking.NONE)
