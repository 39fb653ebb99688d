"""The Django admin of reorder rules: every write goes through the API's services and policies."""

import pytest
from django.test import Client

from accounts.models import AuditEvent
from workflows.models import ReorderRule, TransferRequest
from workflows.services import create_rule

from .conftest import put_stock

pytestmark = pytest.mark.django_db

RULES = "/admin/workflows/reorderrule/"


@pytest.fixture
def admin_client(world):
    client = Client()
    client.force_login(world.admin)
    return client


def _form(world, **changes):
    return {"warehouse": world.wh_a.pk, "product": world.product.pk, "source_warehouse": world.wh_b.pk,
            "min_quantity": 10, "max_quantity": 50, "multiple": 1, "is_active": "on", **changes}


def test_adding_a_rule_in_the_admin_goes_through_the_service_and_evaluates_it(world, admin_client):
    response = admin_client.post(f"{RULES}add/", _form(world))
    assert response.status_code == 302, response.content[:2000]
    rule = ReorderRule.objects.get()
    assert (rule.created_by, rule.last_evaluation["outcome"]) == (world.admin, "created")
    assert AuditEvent.objects.filter(action="reorder_rule.create", actor=world.admin).count() == 1
    assert admin_client.get(RULES).status_code == 200


def test_a_refusal_of_the_service_is_a_message_not_a_server_error(world, admin_client):
    create_rule(actor=world.admin, warehouse=world.wh_b, product=world.product, source_warehouse=world.wh_a,
                min_quantity=1, max_quantity=5)
    response = admin_client.post(f"{RULES}add/", _form(world), follow=True)
    assert response.status_code == 200
    assert "would supply itself through the rules of this product" in response.content.decode()
    assert ReorderRule.objects.count() == 1


def test_changing_a_rule_in_the_admin_lifts_its_hold_and_evaluates_it(world, admin_client):
    put_stock(world, world.wh_a, 30)
    rule = create_rule(actor=world.admin, warehouse=world.wh_a, product=world.product, source_warehouse=world.wh_b,
                       min_quantity=10, max_quantity=50)
    ReorderRule.objects.filter(pk=rule.pk).update(held=True)
    response = admin_client.post(f"{RULES}{rule.pk}/change/", _form(world, min_quantity=40, max_quantity=90))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.held, rule.min_quantity, rule.last_evaluation["outcome"]) == (False, 40, "created")
    assert TransferRequest.objects.get(reorder_rule=rule).quantity == 60


def test_evaluate_and_delete_in_the_admin_go_through_the_services(world, admin_client):
    rule = create_rule(actor=world.admin, warehouse=world.wh_a, product=world.product, source_warehouse=world.wh_b,
                       min_quantity=10, max_quantity=50, is_active=False)
    ReorderRule.objects.filter(pk=rule.pk).update(is_active=True)
    admin_client.post(RULES, {"action": "evaluate_selected", "_selected_action": [rule.pk]})
    rule.refresh_from_db()
    assert rule.last_evaluation["outcome"] == "created"
    admin_client.post(f"{RULES}{rule.pk}/delete/", {"post": "yes"})
    assert not ReorderRule.objects.exists()
    assert AuditEvent.objects.filter(action="reorder_rule.delete").count() == 1


def test_a_non_admin_cannot_use_the_rule_admin(world):
    client = Client()
    client.force_login(world.manager_a)
    assert client.get(RULES).status_code in (302, 403)
