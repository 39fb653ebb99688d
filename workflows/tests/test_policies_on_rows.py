"""The decision service asks scope and policy of the locked request row in Python (no second query); these
prove the Python answers are the querysets' answers, for every role, inside and outside the user's scope."""

import pytest

from accounts.models import User
from warehouses.models import Warehouse
from workflows import policies
from workflows.models import PurchaseRequest
from workflows.tests.factories import PurchaseRequestFactory

pytestmark = pytest.mark.django_db

WHO = ["admin", "manager_a", "manager_b", "staff_a", "staff_b", "viewer", "inactive_manager", "inactive_staff"]


def _user(world, who):
    if who.startswith("inactive_"):
        user = world.manager_a if who == "inactive_manager" else world.staff_a
        User.objects.filter(pk=user.pk).update(status=User.Status.DISMISSED)
        user.refresh_from_db()
        return user
    return getattr(world, who)


@pytest.mark.parametrize("who", WHO)
def test_scope_and_decision_policy_on_a_row_match_the_querysets(world, who):
    user = _user(world, who)
    requests = [PurchaseRequestFactory(warehouse=world.wh_a, product=world.product),
                PurchaseRequestFactory(warehouse=world.wh_b, product=world.product),
                PurchaseRequestFactory(warehouse=world.wh_b, product=world.product, requested_by=user)]
    for purchase in requests:
        in_scope = PurchaseRequest.objects.for_user(user).filter(pk=purchase.pk).exists()
        operates = Warehouse.objects.operated_by(user).filter(pk=purchase.warehouse_id).exists()
        plain = PurchaseRequest.objects.get(pk=purchase.pk)  # warehouse not loaded: the query path
        joined = PurchaseRequest.objects.select_related("warehouse").get(pk=purchase.pk)  # the locked row's shape
        assert policies.can_see_purchase(user, joined) == in_scope, (who, purchase.warehouse.code)
        assert policies.can_decide_purchase(user, plain) == operates, (who, purchase.warehouse.code)
        assert policies.can_decide_purchase(user, joined) == operates, (who, purchase.warehouse.code)


def test_an_admin_decision_check_costs_no_query(world, django_assert_num_queries):
    purchase = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product)
    with django_assert_num_queries(0):
        assert policies.can_decide_purchase(world.admin, purchase)
