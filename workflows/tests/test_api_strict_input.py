"""Every write endpoint of the workflows refuses a key it does not take: 400 naming it, nothing written."""

import pytest

from .conftest import put_stock, snapshot

PURCHASES = "/api/purchase-requests/"
TRANSFERS = "/api/transfer-requests/"


def _cases(world, purchase, transfer):
    """(endpoint, caller, a body the endpoint accepts) for every write endpoint of the workflows."""
    return {
        "purchase_create": (PURCHASES, world.viewer,
                            {"warehouse": world.wh_a.pk, "product": world.product.pk, "quantity": 1}),
        "purchase_approve": (f"{PURCHASES}approve/", world.staff_a, {"id": purchase.pk, "decision": "approve"}),
        "purchase_cancel": (f"{PURCHASES}cancel/", world.viewer, {"id": purchase.pk}),
        "transfer_create": (TRANSFERS, world.manager_a, {"source_warehouse": world.wh_a.pk,
                                                         "destination_warehouse": world.wh_b.pk,
                                                         "product": world.product.pk, "quantity": 1}),
        "transfer_approve": (f"{TRANSFERS}approve/", world.admin, {"id": transfer.pk, "decision": "approve"}),
    }


ENDPOINTS = ["purchase_create", "purchase_approve", "purchase_cancel", "transfer_create", "transfer_approve"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("key, value, message", [
    ("actor", 999, "This field is not writable."),
    ("colour", "red", "Unknown field."),
    ("status", "approved", "This field is not writable."),
    ("requested_by", 1, "This field is not writable."),
    ("decided_by", 1, "This field is not writable."),
    ("created_at", "2020-01-01T00:00:00Z", "This field is not writable."),
])
def test_a_key_the_endpoint_does_not_take_is_a_400_naming_it_and_nothing_changes(
        world, purchase, transfer, make_client, endpoint, key, value, message):
    put_stock(world, world.wh_a, 50)
    url, caller, body = _cases(world, purchase, transfer)[endpoint]
    before = snapshot()
    response = make_client(caller).post(url, {**body, key: value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {key: [message]}
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_same_body_without_the_extra_key_is_accepted(world, purchase, transfer, make_client, endpoint):
    """The refusal above is about the key alone: the body it was added to is a valid request."""
    put_stock(world, world.wh_a, 50)
    url, caller, body = _cases(world, purchase, transfer)[endpoint]
    response = make_client(caller).post(url, body, format="json")
    assert response.status_code in (200, 201), response.content
