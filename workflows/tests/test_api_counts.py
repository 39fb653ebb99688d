"""Stock counts (SPEC §12): open, count, submit, approve or reject by a second person, cancel."""

import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from inventory.models import Stock, StockMovement
from inventory.services import adjust_stock, assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory, StockFactory
from workflows.models import StockCount
from workflows.tests.factories import StockCountFactory, StockCountLineFactory

pytestmark = pytest.mark.django_db

LIST = "/api/stock-counts/"


def url(count, action=""):
    return f"{LIST}{count.pk if hasattr(count, 'pk') else count}/{action + '/' if action else ''}"


def quantity(world, product=None, warehouse=None):
    return Stock.objects.get(warehouse=warehouse or world.wh_a, product=product or world.product).quantity


def count_lines(client, count, values):
    """PATCH every line of `count`: `values` maps product → counted."""
    body = {"lines": [{"line": line.pk, "counted": values[line.product_id]} for line in count.lines.all()]}
    return client.patch(url(count, "lines"), body, format="json")


@pytest.fixture
def stocked(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=50)
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=10)
    assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product, quantity=7)
    return world


# --- the journey ------------------------------------------------------------------------------------


def test_a_count_keeps_the_movements_between_opening_and_approval(make_client, stocked):
    w = stocked
    staff, manager = make_client(w.staff_a), make_client(w.manager_a)
    response = staff.post(LIST, {"warehouse": w.wh_a.pk, "note": "aisle 3"}, format="json")
    assert response.status_code == 201, response.data
    body = response.data
    assert (body["status"], body["warehouse"], body["created_by"], body["note"]) == ("open", w.wh_a.pk,
                                                                                    w.staff_a.pk, "aisle 3")
    assert [(line["product"], line["expected"], line["counted"], line["difference"]) for line in body["lines"]] == [
        (w.product.pk, 50, None, None), (w.product2.pk, 10, None, None)]
    count = StockCount.objects.get(pk=body["id"])

    # The shelves keep moving while people count: 5 damaged units leave after the count opened.
    adjust_stock(actor=w.manager_a, warehouse=w.wh_a, product=w.product, delta=-5, reason="damage")

    response = count_lines(staff, count, {w.product.pk: 48, w.product2.pk: 10})
    assert response.status_code == 200, response.data
    assert [line["difference"] for line in response.data["lines"]] == [-2, 0]
    response = staff.post(url(count, "submit"))
    assert response.status_code == 200, response.data
    assert (response.data["status"], response.data["submitted_by"]) == ("submitted", w.staff_a.pk)
    assert quantity(w) == 45  # nothing applied yet

    response = manager.post(url(count, "approve"), {"decision": "approve", "reason": "checked"}, format="json")
    assert response.status_code == 200, response.data
    assert (response.data["status"], response.data["decided_by"], response.data["decision_reason"]) == (
        "applied", w.manager_a.pk, "checked")
    assert quantity(w) == 43  # 45 on hand − the 2 the count found missing: the damage is kept
    assert quantity(w, w.product2) == 10
    movement = StockMovement.objects.filter(reference_type="stock_count").get()
    assert (movement.kind, movement.reason, movement.reference_id, movement.quantity_change,
            movement.quantity_after, movement.actor_id) == ("adjust", "count", count.pk, -2, 43, w.manager_a.pk)
    actions = list(AuditEvent.objects.filter(target=f"stockcount:{count.pk}").values_list("action", flat=True))
    assert sorted(actions) == ["stock_count.approve", "stock_count.count", "stock_count.open",
                               "stock_count.submit"]


def test_reject_writes_nothing(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 1, w.product2.pk: 10})
    make_client(w.staff_a).post(url(count, "submit"))
    movements = StockMovement.objects.count()
    response = make_client(w.admin).post(url(count, "approve"), {"decision": "reject", "reason": "recount"},
                                         format="json")
    assert response.status_code == 200
    assert (response.data["status"], response.data["decided_by"]) == ("rejected", w.admin.pk)
    assert StockMovement.objects.count() == movements and quantity(w) == 50


# --- tolerance ------------------------------------------------------------------------------------------


def test_a_count_within_the_warehouse_tolerance_is_applied_at_submit(make_client, stocked):
    w = stocked
    response = make_client(w.admin).patch(f"/api/warehouses/{w.wh_a.pk}/", {"count_tolerance": 2}, format="json")
    assert (response.status_code, response.data["count_tolerance"]) == (200, 2)
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 52, w.product2.pk: 8})
    response = make_client(w.staff_a).post(url(count, "submit"))
    assert response.status_code == 200
    assert (response.data["status"], response.data["decided_by"]) == ("applied", None)
    assert response.data["decided_at"] is not None
    assert (quantity(w), quantity(w, w.product2)) == (52, 8)


def test_a_difference_beyond_the_tolerance_waits_for_a_decision(make_client, stocked):
    w = stocked
    make_client(w.admin).patch(f"/api/warehouses/{w.wh_a.pk}/", {"count_tolerance": 2}, format="json")
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 53, w.product2.pk: 10})
    assert make_client(w.staff_a).post(url(count, "submit")).data["status"] == "submitted"
    assert quantity(w) == 50


def test_a_count_that_found_no_difference_is_applied_at_submit_without_movements(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 50, w.product2.pk: 10})
    movements = StockMovement.objects.count()
    response = make_client(w.staff_a).post(url(count, "submit"))
    assert (response.data["status"], response.data["decided_by"]) == ("applied", None)
    assert StockMovement.objects.count() == movements


def test_only_admins_set_the_count_tolerance(make_client, world):
    response = make_client(world.manager_a).patch(f"/api/warehouses/{world.wh_a.pk}/", {"count_tolerance": 5},
                                                  format="json")
    assert response.status_code == 403
    response = make_client(world.admin).patch(f"/api/warehouses/{world.wh_a.pk}/", {"count_tolerance": -1},
                                              format="json")
    assert response.status_code == 400 and "count_tolerance" in response.data


# --- who ------------------------------------------------------------------------------------------------


def test_the_submitter_cannot_approve_their_own_count(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.manager_a)
    count_lines(make_client(w.manager_a), count, {w.product.pk: 40, w.product2.pk: 10})
    make_client(w.manager_a).post(url(count, "submit"))
    response = make_client(w.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert (response.status_code, response.data["code"]) == (403, "permission_denied")
    assert quantity(w) == 50
    assert make_client(w.admin).post(url(count, "approve"), {"decision": "approve"}, format="json").status_code == 200
    assert quantity(w) == 40


def test_a_manager_who_recorded_lines_cannot_approve_a_count_someone_else_submitted(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    line = count.lines.get(product=w.product)
    manager = make_client(w.manager_a)
    response = manager.patch(url(count, "lines"), {"lines": [{"line": line.pk, "counted": 0}]}, format="json")
    assert response.status_code == 200, response.data
    other = count.lines.get(product=w.product2)
    staff = make_client(w.staff_a)
    staff.patch(url(count, "lines"), {"lines": [{"line": other.pk, "counted": 10}]}, format="json")
    assert staff.post(url(count, "submit")).data["status"] == "submitted"

    response = manager.post(url(count, "approve"), {"decision": "approve"}, format="json")

    assert (response.status_code, response.data["code"]) == (403, "permission_denied")
    assert quantity(w) == 50
    count.refresh_from_db()
    assert count.status == "submitted"
    assert make_client(w.admin).post(url(count, "approve"), {"decision": "approve"}, format="json").status_code == 200
    assert quantity(w) == 0


def test_whose_numbers_were_all_recounted_by_someone_else_may_approve(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.manager_a), count, {w.product.pk: 0, w.product2.pk: 0})
    count_lines(make_client(w.staff_a), count, {w.product.pk: 49, w.product2.pk: 10})  # the numbers applied
    make_client(w.staff_a).post(url(count, "submit"))
    response = make_client(w.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert response.status_code == 200, response.data
    assert quantity(w) == 49


@pytest.mark.parametrize(("who", "expected"), [("staff_a", 403), ("manager_b", 404), ("staff_b", 404),
                                               ("viewer", 404)])
def test_who_may_not_decide_a_count(make_client, stocked, who, expected):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 1, w.product2.pk: 1})
    make_client(w.staff_a).post(url(count, "submit"))
    response = make_client(getattr(w, who)).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert response.status_code == expected
    count.refresh_from_db()
    assert count.status == "submitted" and quantity(w) == 50


def test_counts_are_scoped_to_the_warehouses_a_user_operates(make_client, stocked):
    w = stocked
    mine = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    theirs = StockCountFactory(warehouse=w.wh_b, actor=w.staff_b)
    assert [c["id"] for c in make_client(w.staff_a).get(LIST).data["results"]] == [mine.pk]
    assert [c["id"] for c in make_client(w.manager_b).get(LIST).data["results"]] == [theirs.pk]
    assert make_client(w.admin).get(LIST).data["count"] == 2
    assert make_client(w.viewer).get(LIST).status_code == 403
    assert make_client(w.staff_a).get(url(theirs)).status_code == 404
    response = make_client(w.staff_b).post(LIST, {"warehouse": w.wh_a.pk}, format="json")
    assert (response.status_code, response.data["code"]) == (403, "permission_denied")


def test_count_list_filters(make_client, stocked):
    w = stocked
    first = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    second = StockCountFactory(warehouse=w.wh_b, actor=w.admin)
    make_client(w.admin).post(url(second, "cancel"))
    client = make_client(w.admin)
    assert [c["id"] for c in client.get(LIST, {"status": "open"}).data["results"]] == [first.pk]
    assert [c["id"] for c in client.get(LIST, {"status": "cancelled"}).data["results"]] == [second.pk]
    assert [c["id"] for c in client.get(LIST, {"warehouse": w.wh_b.pk}).data["results"]] == [second.pk]
    assert client.get(LIST, {"status": "lost"}).status_code == 400
    assert client.get(LIST, {"warehouse": "x"}).status_code == 400


def test_cancel_creator_manager_and_admin_but_not_another_staff_member(make_client, stocked):
    w = stocked
    colleague = UserFactory(staff=True, warehouse=w.wh_a)
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    response = make_client(colleague).post(url(count, "cancel"))
    assert (response.status_code, response.data["code"]) == (403, "permission_denied")
    response = make_client(w.staff_a).post(url(count, "cancel"))
    assert (response.status_code, response.data["status"]) == (200, "cancelled")
    for who in (w.manager_a, w.admin):
        count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
        assert make_client(who).post(url(count, "cancel")).data["status"] == "cancelled"


# --- bad input --------------------------------------------------------------------------------------------


def test_submit_names_the_lines_not_counted(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    first, second = count.lines.order_by("id")
    make_client(w.staff_a).patch(url(count, "lines"), {"lines": [{"line": first.pk, "counted": 3}]}, format="json")
    response = make_client(w.staff_a).post(url(count, "submit"))
    assert response.status_code == 400
    assert response.data["lines"] == [second.pk] and str(second.pk) in response.data["detail"]
    count.refresh_from_db()
    assert count.status == "open"


def test_a_line_of_another_count_is_a_400_and_changes_nothing(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    other = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    mine, foreign = count.lines.first(), other.lines.first()
    response = make_client(w.staff_a).patch(url(count, "lines"), {"lines": [
        {"line": mine.pk, "counted": 3}, {"line": foreign.pk, "counted": 4}]}, format="json")
    assert response.status_code == 400 and response.data["lines"] == [foreign.pk]
    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert (mine.counted, foreign.counted) == (None, None)


@pytest.mark.parametrize("body", [
    {"lines": []}, {"lines": [{"line": 1, "counted": -1}]}, {"lines": [{"line": 1}]},
    {"lines": [{"line": 1, "counted": 1.5}]}, {"lines": [{"line": 1, "counted": 1, "product": 3}]},
    {"lines": [{"line": 1, "counted": 1}, {"line": 1, "counted": 2}]}, {"lines": "all"}, {},
])
def test_bad_line_bodies_are_400(make_client, stocked, body):
    count = StockCountFactory(warehouse=stocked.wh_a, actor=stocked.staff_a)
    assert make_client(stocked.staff_a).patch(url(count, "lines"), body, format="json").status_code == 400


@pytest.mark.parametrize("body", [
    {"warehouse": 999999}, {"products": [1]}, {"warehouse": None},
])
def test_bad_open_bodies_are_400(make_client, stocked, body):
    assert make_client(stocked.staff_a).post(LIST, body, format="json").status_code == 400


def test_open_a_count_of_chosen_products(make_client, stocked):
    w = stocked
    new = ProductFactory()
    response = make_client(w.staff_a).post(LIST, {"warehouse": w.wh_a.pk, "products": [new.pk, w.product.pk]},
                                           format="json")
    assert response.status_code == 201
    assert [(line["product"], line["expected"]) for line in response.data["lines"]] == [
        (w.product.pk, 50), (new.pk, 0)]
    for products in ([new.pk, new.pk], [999_999], []):
        response = make_client(w.staff_a).post(LIST, {"warehouse": w.wh_a.pk, "products": products}, format="json")
        assert response.status_code == 400 and "products" in response.data


def test_opening_a_count_creates_no_stock_rows_for_products_the_warehouse_never_held(make_client, stocked):
    w = stocked
    never = [ProductFactory() for _ in range(3)]
    rows = Stock.objects.count()
    staff = make_client(w.staff_a)
    response = staff.post(LIST, {"warehouse": w.wh_a.pk, "products": [p.pk for p in never]}, format="json")
    assert response.status_code == 201, response.data
    assert [line["expected"] for line in response.data["lines"]] == [0, 0, 0]
    assert Stock.objects.count() == rows  # nothing appears in the lists and exports
    count = StockCount.objects.get(pk=response.data["id"])

    # Found on the shelf: 4 of the first, none of the others; the row appears when units do.
    count_lines(staff, count, {never[0].pk: 4, never[1].pk: 0, never[2].pk: 0})
    staff.post(url(count, "submit"))
    response = make_client(w.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert response.status_code == 200, response.data
    assert quantity(w, never[0]) == 4
    assert Stock.objects.count() == rows + 1
    assert not Stock.objects.filter(product__in=never[1:]).exists()


def test_opening_a_count_of_an_empty_warehouse_is_a_400(make_client, world):
    response = make_client(world.manager_b).post(LIST, {"warehouse": world.wh_b.pk}, format="json")
    assert (response.status_code, response.data["code"]) == (400, "invalid")


@pytest.mark.parametrize(("action", "body"), [("approve", {"decision": "approve"}), ("cancel", None)])
def test_actions_in_the_wrong_state_are_409_invalid_state(make_client, stocked, action, body):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 50, w.product2.pk: 10})
    make_client(w.staff_a).post(url(count, "submit"))  # applied at once: nothing differs
    response = make_client(w.admin).post(url(count, action), body, format="json")
    assert (response.status_code, response.data["code"], response.data["status"]) == (409, "invalid_state", "applied")


def test_counting_or_submitting_a_submitted_count_is_409(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 1, w.product2.pk: 10})
    make_client(w.staff_a).post(url(count, "submit"))
    response = count_lines(make_client(w.staff_a), count, {w.product.pk: 2, w.product2.pk: 10})
    assert (response.status_code, response.data["code"], response.data["status"]) == (409, "invalid_state",
                                                                                      "submitted")
    assert make_client(w.staff_a).post(url(count, "submit")).status_code == 409
    assert make_client(w.admin).post(url(count, "approve"), {"decision": "maybe"}, format="json").status_code == 400


def test_approving_a_count_below_zero_is_409_and_writes_nothing(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 1, w.product2.pk: 0})  # −49 and −10
    make_client(w.staff_a).post(url(count, "submit"))
    adjust_stock(actor=w.admin, warehouse=w.wh_a, product=w.product2, delta=-5, reason="loss")  # 5 left
    movements = StockMovement.objects.count()
    response = make_client(w.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert response.status_code == 409, response.data
    assert (response.data["code"], response.data["product"], response.data["available"],
            response.data["requested"]) == ("insufficient_stock", w.product2.pk, 5, 10)
    assert (quantity(w), quantity(w, w.product2), StockMovement.objects.count()) == (50, 5, movements)
    count.refresh_from_db()
    assert count.status == "submitted"


def test_a_count_may_not_take_a_row_below_its_reserved_units(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    reserve_stock(actor=w.admin, warehouse=w.wh_a, product=w.product, quantity=40)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 30, w.product2.pk: 10})
    make_client(w.staff_a).post(url(count, "submit"))
    response = make_client(w.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    assert (response.status_code, response.data["code"]) == (409, "insufficient_stock")
    assert quantity(w) == 50


def test_an_approval_replays_with_the_same_idempotency_key(make_client, stocked):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 45, w.product2.pk: 10})
    make_client(w.staff_a).post(url(count, "submit"))
    client = make_client(w.manager_a)
    first = client.post(url(count, "approve"), {"decision": "approve"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(url(count, "approve"), {"decision": "approve"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (200, 200, "true")
    assert first.data == again.data and quantity(w) == 45


def test_count_detail_reads_in_a_fixed_number_of_queries(make_client, stocked, django_assert_max_num_queries):
    w = stocked
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    for _ in range(5):
        StockCountLineFactory(count=count, stock=StockFactory(warehouse=w.wh_a))
    client = make_client(w.staff_a)
    with django_assert_max_num_queries(6):
        response = client.get(url(count))
    assert len(response.data["lines"]) == 7


def test_applying_a_count_opens_and_resolves_alerts_like_any_stock_change(make_client, stocked):
    from inventory.models import LowStockAlert
    from inventory.services import set_threshold

    w = stocked
    set_threshold(actor=w.admin, warehouse=w.wh_a, product=w.product, threshold=20)      # 50: not low
    set_threshold(actor=w.admin, warehouse=w.wh_a, product=w.product2, threshold=20)     # 10: low, alert open
    assert LowStockAlert.objects.filter(status="open").count() == 1
    count = StockCountFactory(warehouse=w.wh_a, actor=w.staff_a)
    count_lines(make_client(w.staff_a), count, {w.product.pk: 5, w.product2.pk: 25})
    make_client(w.staff_a).post(url(count, "submit"))
    make_client(w.manager_a).post(url(count, "approve"), {"decision": "approve"}, format="json")
    alerts = {a.product_id: (a.status, a.quantity_at_trigger) for a in LowStockAlert.objects.all()}
    assert alerts == {w.product.pk: ("open", 5), w.product2.pk: ("resolved", 10)}
