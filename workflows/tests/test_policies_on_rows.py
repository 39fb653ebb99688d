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


def test_the_request_lock_joins_only_what_the_caller_reads_along(world):
    """The decision reads warehouse and product along (locking only the request row); a lock without
    `related` (cancel, transfers) reads the request row alone: no JOIN, so FOR UPDATE takes no other row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows.services import cancel_purchase_request, decide_purchase_request

    def request_reads(run):
        with CaptureQueriesContext(connection) as captured:
            run()
        return [q["sql"] for q in captured.captured_queries  # the lock first, then any scope query
                if q["sql"].startswith('SELECT "workflows_purchaserequest"."id"')]

    mine = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product, requested_by=world.viewer)
    lock = request_reads(lambda: cancel_purchase_request(actor=world.viewer, request_id=mine.pk))[0]
    assert "JOIN" not in lock, lock
    other = PurchaseRequestFactory(warehouse=world.wh_a, product=world.product)
    (lock,) = request_reads(lambda: decide_purchase_request(actor=world.admin, request_id=other.pk,
                                                            decision="reject"))
    assert lock.count("JOIN") == 2 and '"warehouses_warehouse"' in lock and '"inventory_product"' in lock, lock
    if connection.vendor == "postgresql":
        assert 'FOR UPDATE OF "workflows_purchaserequest"' in lock, lock
