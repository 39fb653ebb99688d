"""`Idempotency-Key` on the workflow POSTs, and the `prune_idempotency_keys` command."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core.models import IdempotencyRecord
from inventory.models import StockMovement
from workflows.models import PurchaseRequest, TransferRequest

from .conftest import put_stock, quantity_of, snapshot

pytestmark = pytest.mark.django_db

LIST = "/api/purchase-requests/"
APPROVE = "/api/purchase-requests/approve/"
CANCEL = "/api/purchase-requests/cancel/"


def _post(client, url, body, key):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _purchase_body(world, quantity=2):
    return {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": quantity}


def test_same_key_and_body_replays_the_first_response_and_creates_once(world, make_client):
    client = make_client(world.viewer)
    first = _post(client, LIST, _purchase_body(world), "create-1")
    second = _post(client, LIST, _purchase_body(world), "create-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content  # byte-for-byte, key order included
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert PurchaseRequest.objects.count() == 1


def test_a_replayed_approval_deducts_stock_once(world, purchase, make_client):
    put_stock(world, world.wh_a, 10)
    client = make_client(world.staff_a)
    body = {"id": purchase.pk, "decision": "approve"}
    first = _post(client, APPROVE, body, "approve-1")
    again = _post(client, APPROVE, body, "approve-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert quantity_of(world.wh_a, world.product) == 7
    assert StockMovement.objects.filter(kind="purchase").count() == 1
    # Without the key, a repeat is a new attempt and the state rule answers.
    assert client.post(APPROVE, body, format="json").status_code == 409


def test_a_replayed_cancellation_answers_200_again(world, purchase, make_client):
    client = make_client(world.viewer)
    assert _post(client, CANCEL, {"id": purchase.pk}, "cancel-1").status_code == 200
    again = _post(client, CANCEL, {"id": purchase.pk}, "cancel-1")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_a_replayed_transfer_creation_and_approval_act_once(world, make_client):
    put_stock(world, world.wh_a, 10)
    manager = make_client(world.manager_a)
    body = {"source_warehouse": world.wh_a.pk, "destination_warehouse": world.wh_b.pk,
            "product": world.product.pk, "quantity": 3}
    created = [_post(manager, "/api/transfer-requests/", body, "t-1") for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201] and TransferRequest.objects.count() == 1
    admin = make_client(world.admin)
    decision = {"id": created[0].json()["id"], "decision": "approve"}
    approved = [_post(admin, "/api/transfer-requests/approve/", decision, "t-approve") for _ in range(3)]
    assert [r.status_code for r in approved] == [200, 200, 200]
    assert (quantity_of(world.wh_a, world.product), quantity_of(world.wh_b, world.product)) == (7, 3)


def test_same_key_with_a_different_body_is_409_idempotency_key_reused(world, make_client):
    client = make_client(world.viewer)
    assert _post(client, LIST, _purchase_body(world, 2), "k").status_code == 201
    before = snapshot()
    response = _post(client, LIST, _purchase_body(world, 3), "k")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert snapshot() == before


def test_same_key_on_another_endpoint_is_409_idempotency_key_reused(world, purchase, make_client):
    client = make_client(world.viewer)
    assert _post(client, LIST, _purchase_body(world), "k").status_code == 201
    response = _post(client, CANCEL, {"id": purchase.pk}, "k")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_reused"
    purchase.refresh_from_db()
    assert purchase.status == "pending"


def test_keys_are_per_user(world, make_client):
    other = UserFactory(viewer=True)
    first = _post(make_client(world.viewer), LIST, _purchase_body(world), "shared")
    second = _post(make_client(other), LIST, _purchase_body(world), "shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert set(PurchaseRequest.objects.values_list("requested_by", flat=True)) == {world.viewer.pk, other.pk}


def test_an_error_is_not_stored_so_the_same_key_can_be_retried(world, purchase, make_client):
    client = make_client(world.staff_a)
    body = {"id": purchase.pk, "decision": "approve"}
    refused = _post(client, APPROVE, body, "retry-me")
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_stock"
    assert not IdempotencyRecord.objects.exists()
    put_stock(world, world.wh_a, 5)
    retried = _post(client, APPROVE, body, "retry-me")
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert quantity_of(world.wh_a, world.product) == 2


def test_a_validation_error_is_not_stored(world, make_client):
    client = make_client(world.viewer)
    assert _post(client, LIST, _purchase_body(world, 0), "v").status_code == 400
    assert _post(client, LIST, _purchase_body(world, 0), "v").status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert _post(client, LIST, _purchase_body(world, 1), "v").status_code == 201


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "tab\tkey"])
def test_an_unusable_key_is_a_400(world, key, make_client):
    before = snapshot()
    response = _post(make_client(world.viewer), LIST, _purchase_body(world), key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert snapshot() == before


def test_an_expired_key_is_treated_as_new(world, make_client):
    client = make_client(world.viewer)
    assert _post(client, LIST, _purchase_body(world), "old").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=49))
    again = _post(client, LIST, _purchase_body(world), "old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert PurchaseRequest.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


def test_a_key_is_still_honoured_after_24_hours(world, make_client):
    client = make_client(world.viewer)
    assert _post(client, LIST, _purchase_body(world), "day").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert _post(client, LIST, _purchase_body(world), "day").headers["Idempotent-Replayed"] == "true"
    assert PurchaseRequest.objects.count() == 1


def test_prune_command_deletes_only_records_past_the_retention(world, capsys, make_client):
    client = make_client(world.viewer)
    for key in ("fresh", "day-old", "stale"):
        assert _post(client, LIST, _purchase_body(world), key).status_code == 201
    now = timezone.now()
    IdempotencyRecord.objects.filter(key="day-old").update(created_at=now - timedelta(hours=30))
    IdempotencyRecord.objects.filter(key="stale").update(created_at=now - timedelta(hours=49))
    call_command("prune_idempotency_keys", "--dry-run")
    assert IdempotencyRecord.objects.count() == 3
    call_command("prune_idempotency_keys")
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"fresh", "day-old"}
    assert "Deleted 1" in capsys.readouterr().out
    call_command("prune_idempotency_keys", "--hours", "24")
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"fresh"}


def test_prune_command_refuses_a_retention_under_24_hours(world):
    with pytest.raises(CommandError):
        call_command("prune_idempotency_keys", "--hours", "1")
