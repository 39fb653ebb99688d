"""SPEC §11, clarified: a receiving form sends every line, zeros for what has not arrived; the state comes first."""

import pytest

from .test_api_transfer_transit import _lines, _url, approved, buckets, shipped, state, stocked  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_receipt_with_every_line_changes_only_the_lines_that_arrived(shipped, world, make_client):
    lines = _lines(shipped)
    bolts, nuts = lines[world.product.pk], lines[world.product2.pk]
    response = make_client(world.staff_b).post(_url(shipped, "receive"), {"lines": [
        {"line": bolts.pk, "accepted": 2, "rejected": 0},
        {"line": nuts.pk, "accepted": 0, "rejected": 0},
    ]}, format="json")
    assert response.status_code == 200, response.content
    assert buckets(world.wh_b, world.product) == (2, 0, 2)
    assert buckets(world.wh_b, world.product2) == (0, 0, 3)
    by_line = {line["id"]: line for line in response.json()["lines"]}
    assert (by_line[nuts.pk]["received_quantity"], by_line[nuts.pk]["rejected_quantity"]) == (0, 0)
    assert response.json()["status"] == "in_transit"


def test_a_receipt_of_only_zero_lines_is_not_an_error_and_writes_nothing(shipped, world, make_client):
    lines = _lines(shipped)
    before = state()
    response = make_client(world.staff_b).post(_url(shipped, "receive"), {"lines": [
        {"line": line.pk, "accepted": 0, "rejected": 0} for line in lines.values()]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_transit"
    assert state() == before


@pytest.mark.parametrize("quantities", [(0, 0), (1, 0), (99, 99)])
def test_a_receipt_on_a_transfer_not_in_transit_is_invalid_state_whatever_its_lines(approved, world, quantities,
                                                                                   make_client):
    line = next(iter(_lines(approved).values()))
    accepted, rejected = quantities
    before = state()
    response = make_client(world.staff_b).post(_url(approved, "receive"), {"lines": [
        {"line": line.pk, "accepted": accepted, "rejected": rejected}]}, format="json")
    assert response.status_code == 409, response.content
    assert (response.json()["code"], response.json()["status"]) == ("invalid_state", "approved")
    assert state() == before


def test_a_receipt_out_of_scope_is_still_a_404_before_the_state(approved, world, make_client):
    line = next(iter(_lines(approved).values()))
    response = make_client(world.viewer).post(_url(approved, "receive"), {"lines": [
        {"line": line.pk, "accepted": 0, "rejected": 0}]}, format="json")
    assert response.status_code in (403, 404)
