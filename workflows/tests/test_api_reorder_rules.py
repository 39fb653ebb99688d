"""`/api/reorder-rules/` (SPEC §15) over HTTP: each role allowed, refused (403) and out of scope (404); bad input
is a clear 400 with nothing written; 409 `duplicate_rule` / `rule_cycle`; evaluate; Idempotency-Key."""

import pytest

from accounts.models import AuditEvent
from workflows.models import ReorderRule, TransferRequest
from workflows.services import create_rule

from .conftest import put_stock

pytestmark = pytest.mark.django_db

LIST = "/api/reorder-rules/"
FIELDS = {"id", "warehouse", "product", "source_warehouse", "min_quantity", "max_quantity", "multiple", "is_active",
          "held", "created_by", "created_at", "last_evaluation"}
EVALUATION_FIELDS = {"evaluated_at", "quantity", "reserved", "expired", "incoming", "open_inbound", "projected",
                     "proposed", "transfer_request", "outcome"}


def body(world, **changes):
    return {"warehouse": world.wh_a.pk, "product": world.product.pk, "source_warehouse": world.wh_b.pk,
            "min_quantity": 10, "max_quantity": 50, **changes}


def rule_of(world, warehouse=None, source=None, product=None, **values):
    return create_rule(actor=world.admin, warehouse=warehouse or world.wh_a, product=product or world.product,
                       source_warehouse=source or world.wh_b, min_quantity=values.get("min_quantity", 10),
                       max_quantity=values.get("max_quantity", 50), multiple=values.get("multiple", 1))


def detail(rule) -> str:
    return f"{LIST}{rule.pk}/"


def state() -> tuple:
    return (list(ReorderRule.objects.order_by("pk").values_list("pk", "source_warehouse", "min_quantity",
                                                                "max_quantity", "multiple", "is_active", "held")),
            TransferRequest.objects.count(), AuditEvent.objects.filter(action__startswith="reorder_rule.").count())


# --- create ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager_a"])
def test_admin_or_the_warehouses_manager_creates_a_rule_and_it_is_evaluated_at_once(world, make_client, role):
    put_stock(world, world.wh_a, 30)
    response = make_client(getattr(world, role)).post(LIST, body(world, multiple=5), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == FIELDS
    assert (data["warehouse"], data["product"], data["source_warehouse"], data["min_quantity"], data["max_quantity"],
            data["multiple"], data["is_active"], data["held"], data["created_by"]) == (
        world.wh_a.pk, world.product.pk, world.wh_b.pk, 10, 50, 5, True, False, getattr(world, role).pk)
    assert set(data["last_evaluation"]) == EVALUATION_FIELDS
    assert (data["last_evaluation"]["outcome"], data["last_evaluation"]["projected"]) == ("not_needed", 30)


def test_a_rule_created_below_min_answers_with_the_transfer_it_created(world, make_client):
    response = make_client(world.manager_a).post(LIST, body(world, multiple=12), format="json")
    evaluation = response.json()["last_evaluation"]
    transfer = TransferRequest.objects.get()
    assert (evaluation["outcome"], evaluation["proposed"], evaluation["transfer_request"]) == ("created", 60,
                                                                                              transfer.pk)
    shown = make_client(world.manager_a).get(f"/api/transfer-requests/{transfer.pk}/").json()
    assert (shown["reorder_rule"], shown["requested_by"], shown["mode"], shown["status"], shown["quantity"]) == (
        response.json()["id"], None, "in_transit", "pending", 60)


@pytest.mark.parametrize("role", ["staff_a", "manager_b", "staff_b", "viewer"])
def test_staff_viewers_and_other_managers_may_not_create_a_rule_for_a_warehouse(world, make_client, role):
    before = state()
    response = make_client(getattr(world, role)).post(LIST, body(world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert state() == before


def test_a_second_rule_for_the_same_warehouse_and_product_is_409_duplicate_rule(world, make_client):
    rule_of(world)
    before = state()
    third = type(world.wh_a).objects.create(code="C", name="Gamma")
    response = make_client(world.admin).post(LIST, body(world, source_warehouse=third.pk), format="json")
    assert (response.status_code, response.json()["code"]) == (409, "duplicate_rule")
    assert state() == before


def test_a_rule_closing_a_circle_is_409_rule_cycle(world, make_client):
    third = type(world.wh_a).objects.create(code="C", name="Gamma")
    rule_of(world, warehouse=world.wh_a, source=world.wh_b)
    rule_of(world, warehouse=world.wh_b, source=third)
    before = state()
    response = make_client(world.admin).post(LIST, body(world, warehouse=third.pk, source_warehouse=world.wh_a.pk),
                                             format="json")
    assert (response.status_code, response.json()["code"]) == (409, "rule_cycle")
    assert state() == before


def test_the_same_warehouse_as_source_is_400_same_warehouse_with_detail_and_code(world, make_client):
    response = make_client(world.admin).post(LIST, body(world, source_warehouse=world.wh_a.pk), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == "same_warehouse"
    assert not ReorderRule.objects.exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"min_quantity": -1}, "min_quantity"),
    ({"max_quantity": 10}, "max_quantity"),       # not above min
    ({"max_quantity": 5}, "max_quantity"),
    ({"multiple": 0}, "multiple"),
    ({"min_quantity": "many"}, "min_quantity"),
    ({"source_warehouse": 999999}, "source_warehouse"),
    ({"warehouse": None}, "warehouse"),
    ({"held": True}, "held"),                     # read-only
    ({"last_evaluation": {}}, "last_evaluation"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(world, make_client, changes, field):
    response = make_client(world.admin).post(LIST, body(world, **changes), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ReorderRule.objects.exists() and not TransferRequest.objects.exists()


def test_an_inactive_source_warehouse_is_refused(world, make_client):
    closed = type(world.wh_a).objects.create(code="C", name="Gamma", is_active=False)
    response = make_client(world.admin).post(LIST, body(world, source_warehouse=closed.pk), format="json")
    assert response.status_code == 400
    assert "source_warehouse" in response.json()
    assert not ReorderRule.objects.exists()


def test_create_honours_idempotency_key(world, make_client):
    client = make_client(world.manager_a)
    first = client.post(LIST, body(world), format="json", HTTP_IDEMPOTENCY_KEY="rule-1")
    again = client.post(LIST, body(world), format="json", HTTP_IDEMPOTENCY_KEY="rule-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert ReorderRule.objects.count() == 1 and TransferRequest.objects.count() == 1
    other = client.post(LIST, body(world, min_quantity=1), format="json", HTTP_IDEMPOTENCY_KEY="rule-1")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


# --- read -----------------------------------------------------------------------------------------------

def test_lists_show_the_rules_of_the_warehouses_one_operates_with_filters(world, make_client):
    rule_a = rule_of(world)
    rule_b = rule_of(world, warehouse=world.wh_b, source=world.wh_a, product=world.product2)
    rule_a2 = rule_of(world, product=world.product2, source=type(world.wh_a).objects.create(code="C", name="C"))
    ReorderRule.objects.filter(pk=rule_a2.pk).update(is_active=False)

    def ids(user, query=""):
        response = make_client(user).get(LIST + query)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert sorted(ids(world.admin)) == sorted([rule_a.pk, rule_b.pk, rule_a2.pk])
    assert sorted(ids(world.staff_a)) == sorted([rule_a.pk, rule_a2.pk])
    assert ids(world.manager_b) == [rule_b.pk]
    assert sorted(ids(world.admin, f"?warehouse={world.wh_a.pk}")) == sorted([rule_a.pk, rule_a2.pk])
    assert sorted(ids(world.admin, f"?product={world.product2.pk}")) == sorted([rule_b.pk, rule_a2.pk])
    assert ids(world.admin, "?is_active=false") == [rule_a2.pk]
    assert make_client(world.admin).get(LIST + "?is_active=maybe").status_code == 400
    assert make_client(world.viewer).get(LIST).status_code == 403


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager_a", 200), ("staff_a", 200),
                                              ("manager_b", 404), ("staff_b", 404), ("viewer", 403)])
def test_one_rule_is_visible_to_its_warehouses_people_only(world, make_client, role, status):
    rule = rule_of(world)
    response = make_client(getattr(world, role)).get(detail(rule))
    assert response.status_code == status
    if status == 200:
        assert set(response.json()) == FIELDS


# --- change, delete -------------------------------------------------------------------------------------

def test_the_manager_changes_a_rule_which_is_evaluated_again(world, make_client):
    put_stock(world, world.wh_a, 30)
    rule = rule_of(world)
    response = make_client(world.manager_a).patch(detail(rule), {"min_quantity": 40, "max_quantity": 100},
                                                  format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["min_quantity"], data["max_quantity"], data["last_evaluation"]["outcome"]) == (40, 100, "created")
    assert TransferRequest.objects.get(reorder_rule=rule).quantity == 70
    assert AuditEvent.objects.filter(action="reorder_rule.update", actor=world.manager_a).count() == 1


@pytest.mark.parametrize(("role", "status"), [("staff_a", 403), ("viewer", 403), ("manager_b", 404),
                                              ("staff_b", 404)])
def test_others_may_not_change_delete_or_evaluate_a_rule(world, make_client, role, status):
    rule = rule_of(world)
    before = state()
    client = make_client(getattr(world, role))
    assert client.patch(detail(rule), {"min_quantity": 1}, format="json").status_code == status
    assert client.delete(detail(rule)).status_code == status
    assert client.post(detail(rule) + "evaluate/", {}, format="json").status_code == status
    assert state() == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"warehouse": "B"}, "warehouse"), ({"product": "product2"}, "product"), ({"max_quantity": 10}, "max_quantity"),
    ({"min_quantity": 50}, "max_quantity"), ({"created_by": 1}, "created_by"), ({"held": False}, "held"),
])
def test_a_change_that_breaks_the_rules_shape_is_a_400_and_writes_nothing(world, make_client, changes, field):
    rule = rule_of(world)
    before = state()
    resolved = {key: (world.wh_b.pk if value == "B" else world.product2.pk if value == "product2" else value)
                for key, value in changes.items()}
    response = make_client(world.admin).patch(detail(rule), resolved, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert state() == before


def test_re_sourcing_into_a_circle_is_409_and_to_the_warehouse_itself_400(world, make_client):
    rule = rule_of(world)  # A from B
    rule_b = rule_of(world, warehouse=world.wh_b, source=type(world.wh_a).objects.create(code="C", name="C"))
    before = state()
    client = make_client(world.admin)
    response = client.patch(detail(rule_b), {"source_warehouse": world.wh_a.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "rule_cycle")
    response = client.patch(detail(rule), {"source_warehouse": world.wh_a.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "same_warehouse")
    assert state() == before


def test_the_manager_deletes_a_rule_and_its_open_transfer_stays(world, make_client):
    rule = rule_of(world)
    transfer = TransferRequest.objects.get(reorder_rule=rule)
    response = make_client(world.manager_a).delete(detail(rule))
    assert response.status_code == 204
    assert not ReorderRule.objects.exists()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.reorder_rule) == ("pending", None)
    assert make_client(world.manager_a).get(detail(rule)).status_code == 404


# --- evaluate -------------------------------------------------------------------------------------------

def test_evaluate_answers_with_the_rule_and_this_evaluation_and_lifts_a_hold(world, make_client):
    rule = rule_of(world)
    transfer = TransferRequest.objects.get(reorder_rule=rule)
    client = make_client(world.manager_a)
    assert client.post(f"/api/transfer-requests/{transfer.pk}/cancel/", {}, format="json").status_code == 200
    assert client.get(detail(rule)).json()["held"] is True
    response = client.post(detail(rule) + "evaluate/", {}, format="json", HTTP_IDEMPOTENCY_KEY="eval-1")
    assert response.status_code == 200
    data = response.json()
    assert data["held"] is False
    assert data["last_evaluation"]["outcome"] == "created"
    replay = client.post(detail(rule) + "evaluate/", {}, format="json", HTTP_IDEMPOTENCY_KEY="eval-1")
    assert replay.json() == data
    assert TransferRequest.objects.filter(reorder_rule=rule, status="pending").count() == 1
    assert client.post(detail(rule) + "evaluate/", {"now": True}, format="json").status_code == 400


def test_evaluate_of_an_unknown_rule_is_404(world, make_client):
    assert make_client(world.admin).post(f"{LIST}999999/evaluate/", {}, format="json").status_code == 404


# --- the generated transfer: who may cancel it -------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [("manager_a", 200), ("admin", 200), ("manager_b", 403),
                                              ("staff_a", 403)])
def test_the_destinations_manager_may_cancel_a_generated_pending_transfer(world, make_client, role, status):
    rule = rule_of(world)  # A (manager_a) from B (manager_b)
    transfer = TransferRequest.objects.get(reorder_rule=rule)
    response = make_client(getattr(world, role)).post(f"/api/transfer-requests/{transfer.pk}/cancel/", {},
                                                      format="json")
    assert response.status_code == status
    transfer.refresh_from_db()
    assert transfer.status == ("cancelled" if status == 200 else "pending")


def test_the_destinations_manager_may_not_cancel_a_generated_transfer_once_approved(world, make_client):
    put_stock(world, world.wh_b, 100)
    rule = rule_of(world)
    transfer = TransferRequest.objects.get(reorder_rule=rule)
    assert make_client(world.admin).post("/api/transfer-requests/approve/", {"id": transfer.pk,
                                                                              "decision": "approve"},
                                         format="json").status_code == 200
    response = make_client(world.manager_a).post(f"/api/transfer-requests/{transfer.pk}/cancel/", {}, format="json")
    assert response.status_code == 403


# --- the dashboard --------------------------------------------------------------------------------------

def test_the_warehouse_dashboard_counts_open_replenishments(world, make_client):
    rule_of(world)
    rule_of(world, product=world.product2)
    TransferRequest.objects.filter(product=world.product2).update(status="cancelled")
    totals = make_client(world.manager_a).get(f"/api/dashboard/warehouse/?warehouse={world.wh_a.pk}").json()["totals"]
    assert totals["open_replenishments"] == 1
    totals_b = make_client(world.manager_b).get(f"/api/dashboard/warehouse/?warehouse={world.wh_b.pk}").json()
    assert totals_b["totals"]["open_replenishments"] == 0
