"""`/api/lots/` (SPEC §14): every active user lists and reads lots (filters, order: expires_on nulls last, then
id); admins and managers add lots (400 `not_lot_tracked`, 409 `duplicate_lot`, Idempotency-Key); admins alone
correct `expires_on` (audited with the old and the new date; only that key is accepted)."""

import datetime

import pytest
import time_machine

from accounts.models import AuditEvent
from inventory.lots import Lot
from inventory.models import Product
from inventory.tests.factories import LotFactory, ProductFactory

pytestmark = pytest.mark.django_db

LOTS = "/api/lots/"
TODAY = datetime.date(2027, 5, 20)


def at_noon():
    return time_machine.travel(datetime.datetime(2027, 5, 20, 12, tzinfo=datetime.UTC), tick=False)


@pytest.fixture
def milk():
    return ProductFactory(sku="MILK-1", tracking=Product.Tracking.LOT)


@pytest.fixture
def lots(milk):
    day = datetime.timedelta(days=1)
    return {
        "never": LotFactory(product=milk, code="N-1", expires_on=None),
        "late": LotFactory(product=milk, code="L-1", expires_on=TODAY + 10 * day),
        "past": LotFactory(product=milk, code="P-1", expires_on=TODAY - day),
        "today": LotFactory(product=milk, code="T-1", expires_on=TODAY),
        "other": LotFactory(code="X-1", expires_on=TODAY + 10 * day),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.data
    return [row["id"] for row in response.data["results"]]


@pytest.mark.parametrize("who", ["admin", "manager_a", "staff_a", "viewer"])
def test_every_active_user_lists_lots_by_expiry_nulls_last_then_id(make_client, world, lots, who):
    with at_noon():
        client = make_client(getattr(world, who))
        response = client.get(LOTS)
        never = client.get(f"{LOTS}{lots['never'].pk}/")
    l = lots  # noqa: E741
    assert ids(response) == [l["past"].pk, l["today"].pk, l["late"].pk, l["other"].pk, l["never"].pk]
    row = response.data["results"][0]
    assert row == {"id": l["past"].pk, "product": l["past"].product_id, "code": "P-1",
                   "expires_on": (TODAY - datetime.timedelta(days=1)).isoformat(), "created_at": row["created_at"]}
    assert never.data["expires_on"] is None and never.data["code"] == "N-1"


def test_anonymous_cannot_read_lots(anon, world, lots):
    assert anon.get(LOTS).status_code == 401


def test_an_unknown_lot_is_404(make_client, world):
    response = make_client(world.viewer).get(f"{LOTS}999999/")
    assert response.status_code == 404 and response.data["code"] == "not_found"


def test_lot_filters(make_client, world, milk, lots):
    l = lots  # noqa: E741
    with at_noon():
        client = make_client(world.viewer)
        assert set(ids(client.get(LOTS, {"product": milk.pk}))) == {l["never"].pk, l["late"].pk, l["past"].pk,
                                                                     l["today"].pk}
        assert ids(client.get(LOTS, {"code": "p-1"})) == [l["past"].pk]  # compared like SKUs
        assert ids(client.get(LOTS, {"expires_before": TODAY.isoformat()})) == [l["past"].pk]
        assert ids(client.get(LOTS, {"expired": "true"})) == [l["past"].pk]  # its last day is not expired
        assert ids(client.get(LOTS, {"expired": "false"})) == [l["today"].pk, l["late"].pk, l["other"].pk,
                                                               l["never"].pk]


@pytest.mark.parametrize("params", [{"expired": "maybe"}, {"expires_before": "soon"}, {"product": "x"}])
def test_bad_lot_filters_are_400(make_client, world, params):
    assert make_client(world.viewer).get(LOTS, params).status_code == 400


@pytest.mark.parametrize("who", ["admin", "manager_a", "manager_b"])
def test_admin_and_managers_add_a_lot_and_it_is_audited(make_client, world, milk, who):
    response = make_client(getattr(world, who)).post(
        LOTS, {"product": milk.pk, "code": "NEW-1", "expires_on": "2031-02-03"}, format="json")
    assert response.status_code == 201, response.data
    lot = Lot.objects.get(pk=response.data["id"])
    assert (lot.product_id, lot.code, lot.expires_on) == (milk.pk, "NEW-1", datetime.date(2031, 2, 3))
    assert response.data == {"id": lot.pk, "product": milk.pk, "code": "NEW-1", "expires_on": "2031-02-03",
                             "created_at": response.data["created_at"]}
    assert AuditEvent.objects.filter(action="lot.create", target__endswith=f":{lot.pk}").exists()


def test_a_lot_without_a_date_never_expires(make_client, world, milk):
    response = make_client(world.admin).post(LOTS, {"product": milk.pk, "code": "FOREVER"}, format="json")
    assert response.status_code == 201 and response.data["expires_on"] is None


@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_cannot_add_lots(make_client, world, milk, who):
    response = make_client(getattr(world, who)).post(LOTS, {"product": milk.pk, "code": "NEW-1"}, format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert not Lot.objects.exists()


def test_a_product_that_is_not_lot_tracked_has_no_lots_400(make_client, world):
    response = make_client(world.admin).post(LOTS, {"product": world.product.pk, "code": "A"}, format="json")
    assert response.status_code == 400 and response.data["code"] == "not_lot_tracked"
    assert not Lot.objects.exists()


def test_a_code_the_product_has_is_409_duplicate_lot(make_client, world, milk):
    LotFactory(product=milk, code="Straße-1")
    response = make_client(world.admin).post(LOTS, {"product": milk.pk, "code": "STRASSE-1"}, format="json")
    assert response.status_code == 409 and response.data["code"] == "duplicate_lot"
    assert Lot.objects.count() == 1
    other = ProductFactory(tracking=Product.Tracking.LOT)  # another product may use the same code
    assert make_client(world.admin).post(LOTS, {"product": other.pk, "code": "straße-1"},
                                         format="json").status_code == 201


@pytest.mark.parametrize("body", [{"product": 1}, {"code": "A"}, {"product": 1, "code": ""},
                                  {"product": 1, "code": "x" * 51}, {"product": 1, "code": "A", "expires_on": "x"},
                                  {"product": 1, "code": "A", "quantity": 3}])
def test_bad_lot_bodies_are_400_and_create_nothing(make_client, world, milk, body):
    body = {**body, "product": milk.pk} if "product" in body else body
    response = make_client(world.admin).post(LOTS, body, format="json")
    assert response.status_code == 400, response.data
    assert not Lot.objects.exists()


def test_adding_a_lot_is_idempotent(make_client, world, milk):
    client = make_client(world.admin)
    headers = {"HTTP_IDEMPOTENCY_KEY": "lot-1"}
    first = client.post(LOTS, {"product": milk.pk, "code": "K"}, format="json", **headers)
    again = client.post(LOTS, {"product": milk.pk, "code": "K"}, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again.data == first.data and again["Idempotent-Replayed"] == "true"
    reused = client.post(LOTS, {"product": milk.pk, "code": "K2"}, format="json", **headers)
    assert reused.status_code == 409 and reused.data["code"] == "idempotency_key_reused"
    assert Lot.objects.count() == 1


def test_an_admin_corrects_expires_on_and_the_audit_keeps_both_dates(make_client, world, lots):
    lot = lots["late"]
    response = make_client(world.admin).patch(f"{LOTS}{lot.pk}/", {"expires_on": "2030-01-01"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["expires_on"] == "2030-01-01"
    event = AuditEvent.objects.get(action="lot.update")
    assert event.data["expires_on"] == {"before": lot.expires_on.isoformat(), "after": "2030-01-01"}
    cleared = make_client(world.admin).patch(f"{LOTS}{lot.pk}/", {"expires_on": None}, format="json")
    assert cleared.status_code == 200 and cleared.data["expires_on"] is None
    assert Lot.objects.get(pk=lot.pk).expires_on is None


@pytest.mark.parametrize("who", ["manager_a", "staff_a", "viewer"])
def test_only_admins_correct_expires_on(make_client, world, lots, who):
    lot = lots["late"]
    response = make_client(getattr(world, who)).patch(f"{LOTS}{lot.pk}/", {"expires_on": "2030-01-01"},
                                                      format="json")
    assert response.status_code == 403 and response.data["code"] == "permission_denied"
    assert Lot.objects.get(pk=lot.pk).expires_on == lot.expires_on


@pytest.mark.parametrize("body", [{"code": "Z"}, {"expires_on": "2030-01-01", "code": "Z"}, {}, {"expires_on": "x"},
                                  {"product": 1}])
def test_a_correction_accepts_expires_on_only(make_client, world, lots, body):
    lot = lots["late"]
    response = make_client(world.admin).patch(f"{LOTS}{lot.pk}/", body, format="json")
    assert response.status_code == 400, response.data
    assert Lot.objects.filter(pk=lot.pk, code="L-1", expires_on=lot.expires_on).exists()
    assert not AuditEvent.objects.filter(action="lot.update").exists()


def test_put_and_delete_are_not_allowed(make_client, world, lots):
    client = make_client(world.admin)
    lot = lots["late"]
    assert client.put(f"{LOTS}{lot.pk}/", {"expires_on": None}, format="json").status_code == 405
    assert client.delete(f"{LOTS}{lot.pk}/").status_code == 405


@pytest.mark.parametrize("count", [2, 25])
def test_the_lot_list_query_count_is_constant(make_client, world, milk, django_assert_num_queries, count):
    for n in range(count):
        LotFactory(product=milk, code=f"Q{n}", expires_on=TODAY + n * datetime.timedelta(days=1))
    client = make_client(world.viewer)
    with django_assert_num_queries(3):  # the user, the count, the page
        response = client.get(LOTS, {"page_size": 200})
    assert response.data["count"] == count
