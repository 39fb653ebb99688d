"""Low-stock alert state: opening, staying quiet, resolving, re-opening, thresholds, rollbacks, the constraint."""


import pytest
from django.db import IntegrityError, transaction
from django_tasks_db.models import DBTaskResult

from core.testing import run_threads
from inventory import alerts
from inventory.models import LowStockAlert, Stock
from inventory.services import Reference, adjust_stock, assign_stock, deduct_stock, move_stock
from inventory.tests.factories import ThresholdFactory

TASK_PATH = "inventory.alert_emails.send_low_stock_alert_email"
OPEN, RESOLVED = LowStockAlert.Status.OPEN, LowStockAlert.Status.RESOLVED


def email_tasks():
    return DBTaskResult.objects.filter(task_path=TASK_PATH)


def adjust(world, delta, *, warehouse=None, product=None):
    return adjust_stock(actor=world.admin, warehouse=warehouse or world.wh_a, product=product or world.product,
                        delta=delta, reason="count")


@pytest.fixture
def stocked(world):
    """Product at warehouse A: 10 on hand, threshold 5."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=5)
    return world


@pytest.mark.django_db
def test_crossing_below_the_threshold_opens_one_alert_and_enqueues_one_email_task(stocked):
    adjust(stocked, -6)

    alert = LowStockAlert.objects.get()
    assert (alert.product, alert.warehouse, alert.status) == (stocked.product, stocked.wh_a, OPEN)
    assert (alert.quantity_at_trigger, alert.threshold, alert.resolved_at) == (4, 5, None)
    assert alert.email_status == LowStockAlert.EmailStatus.QUEUED
    task = email_tasks().get()
    assert task.args_kwargs == {"args": [], "kwargs": {"alert_id": alert.pk, "attempt": 1}}
    assert task.status == "READY"


@pytest.mark.django_db
def test_dropping_to_exactly_the_threshold_is_not_low(stocked):
    adjust(stocked, -5)

    assert not LowStockAlert.objects.exists()
    assert not email_tasks().exists()


@pytest.mark.django_db
def test_further_drops_while_an_alert_is_open_add_no_alert_and_no_task(stocked):
    adjust(stocked, -6)
    adjust(stocked, -1)
    adjust(stocked, -3)
    adjust(stocked, 2)  # still below the threshold

    alert = LowStockAlert.objects.get()
    assert (alert.status, alert.quantity_at_trigger) == (OPEN, 4)
    assert email_tasks().count() == 1


@pytest.mark.django_db
def test_returning_to_the_threshold_resolves_and_the_next_crossing_opens_a_new_alert(stocked):
    adjust(stocked, -6)  # 4
    adjust(stocked, 1)  # 5: at the threshold, resolved
    first = LowStockAlert.objects.get()
    assert first.status == RESOLVED and first.resolved_at is not None

    adjust(stocked, 3)  # 8: stays resolved, nothing new
    assert LowStockAlert.objects.count() == 1

    adjust(stocked, -7)  # 1: a new crossing
    second = LowStockAlert.objects.exclude(pk=first.pk).get()
    assert (second.status, second.quantity_at_trigger, second.resolved_at) == (OPEN, 1, None)
    assert sorted(t.args_kwargs["kwargs"]["alert_id"] for t in email_tasks()) == [first.pk, second.pk]


@pytest.mark.django_db
def test_a_stock_row_without_threshold_never_alerts(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    adjust(world, -3)

    assert not LowStockAlert.objects.exists()
    assert not email_tasks().exists()


@pytest.mark.django_db
def test_a_threshold_of_zero_never_alerts(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=0)
    adjust(world, -3)

    assert not LowStockAlert.objects.exists()


@pytest.mark.django_db
def test_alerts_are_kept_per_product_and_warehouse(stocked):
    assign_stock(actor=stocked.admin, warehouse=stocked.wh_b, product=stocked.product, quantity=10)
    ThresholdFactory(product=stocked.product, warehouse=stocked.wh_b, threshold=5)
    adjust(stocked, -8)
    adjust(stocked, -8, warehouse=stocked.wh_b)

    assert set(LowStockAlert.objects.values_list("warehouse_id", "status")) == {
        (stocked.wh_a.pk, OPEN), (stocked.wh_b.pk, OPEN)}
    assert email_tasks().count() == 2


@pytest.mark.django_db
def test_a_purchase_deduction_and_a_transfer_out_open_alerts_too(stocked):
    assign_stock(actor=stocked.admin, warehouse=stocked.wh_a, product=stocked.product2, quantity=10)
    ThresholdFactory(product=stocked.product2, warehouse=stocked.wh_a, threshold=5)

    deduct_stock(actor=stocked.admin, warehouse=stocked.wh_a, product=stocked.product, quantity=7,
                 reference=Reference("purchase_request", 1))
    move_stock(actor=stocked.admin, source=stocked.wh_a, destination=stocked.wh_b, product=stocked.product2,
               quantity=9, reference=Reference("transfer_request", 1))

    assert set(LowStockAlert.objects.values_list("product_id", "quantity_at_trigger")) == {
        (stocked.product.pk, 3), (stocked.product2.pk, 1)}
    assert email_tasks().count() == 2


@pytest.mark.django_db
def test_a_threshold_set_above_the_current_quantity_opens_an_alert(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    with transaction.atomic():
        alert = alerts.evaluate(product_id=world.product.pk, warehouse_id=world.wh_a.pk, quantity=3, threshold=5)

    assert alert == LowStockAlert.objects.get(status=OPEN)
    assert (alert.quantity_at_trigger, alert.threshold) == (3, 5)
    assert email_tasks().count() == 1


@pytest.mark.django_db
def test_raising_the_threshold_while_an_alert_is_open_keeps_the_one_alert(stocked):
    adjust(stocked, -6)  # 4 < 5
    with transaction.atomic():
        again = alerts.evaluate(product_id=stocked.product.pk, warehouse_id=stocked.wh_a.pk, quantity=4,
                                threshold=9)

    assert again is None
    assert LowStockAlert.objects.get().status == OPEN
    assert email_tasks().count() == 1


@pytest.mark.django_db
def test_lowering_the_threshold_to_the_quantity_resolves_the_alert(stocked):
    adjust(stocked, -6)  # 4 < 5
    with transaction.atomic():
        alerts.evaluate(product_id=stocked.product.pk, warehouse_id=stocked.wh_a.pk, quantity=4, threshold=4)

    alert = LowStockAlert.objects.get()
    assert alert.status == RESOLVED and alert.resolved_at is not None


@pytest.mark.django_db
def test_deleting_the_threshold_resolves_the_alert(stocked):
    adjust(stocked, -6)
    with transaction.atomic():
        alerts.evaluate(product_id=stocked.product.pk, warehouse_id=stocked.wh_a.pk, quantity=4, threshold=None)

    assert LowStockAlert.objects.get().status == RESOLVED
    assert email_tasks().count() == 1


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_a_rolled_back_stock_change_leaves_no_alert_and_no_task(stocked):
    with pytest.raises(Boom), transaction.atomic():
        adjust(stocked, -6)
        assert LowStockAlert.objects.count() == 1 and email_tasks().count() == 1  # it was there, inside
        raise Boom

    assert not LowStockAlert.objects.exists()
    assert not email_tasks().exists()
    assert Stock.objects.get(warehouse=stocked.wh_a, product=stocked.product).quantity == 10


@pytest.mark.django_db
def test_a_refused_stock_change_leaves_no_alert(stocked):
    from inventory.errors import InsufficientStock

    with pytest.raises(InsufficientStock):
        adjust(stocked, -11)

    assert not LowStockAlert.objects.exists()
    assert not email_tasks().exists()


@pytest.mark.django_db
def test_the_database_rejects_a_second_open_alert_for_one_stock_row(world):
    LowStockAlert.objects.create(product=world.product, warehouse=world.wh_a, threshold=5, quantity_at_trigger=4)

    with pytest.raises(IntegrityError), transaction.atomic():
        LowStockAlert.objects.create(product=world.product, warehouse=world.wh_a, threshold=5, quantity_at_trigger=3)

    # Resolved alerts do not count: history may hold many.
    LowStockAlert.objects.create(product=world.product, warehouse=world.wh_a, threshold=5, quantity_at_trigger=2,
                                 status=RESOLVED)
    assert LowStockAlert.objects.count() == 2


@pytest.mark.django_db
def test_an_evaluation_that_loses_the_race_for_the_open_alert_adds_nothing_and_keeps_the_transaction(world):
    # As if a concurrent transaction (one not holding the stock lock) had just committed its alert.
    existing = LowStockAlert.objects.create(product=world.product, warehouse=world.wh_a, threshold=5,
                                            quantity_at_trigger=4)
    with transaction.atomic():
        opened = alerts._open_alert(product_id=world.product.pk, warehouse_id=world.wh_a.pk, quantity=3, threshold=5)
        assert LowStockAlert.objects.count() == 1  # the transaction is still usable

    assert opened is None
    assert list(LowStockAlert.objects.all()) == [existing]
    assert not email_tasks().exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_drops_on_one_stock_row_open_exactly_one_alert_and_one_task(world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=8)
    ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=5)
    results = run_threads(8, lambda index: adjust(world, -1))

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 0
    alert = LowStockAlert.objects.get()
    assert (alert.status, alert.quantity_at_trigger) == (OPEN, 4)
    assert email_tasks().count() == 1
    assert email_tasks().get().args_kwargs["kwargs"] == {"alert_id": alert.pk, "attempt": 1}


# --- Through the threshold services (which lock the stock row and call `alerts.evaluate`) ---------


@pytest.mark.django_db
def test_setting_a_threshold_above_the_quantity_through_the_service_opens_an_alert_and_a_task(world):
    from inventory.services import set_threshold

    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=3)
    set_threshold(actor=world.manager_a, warehouse=world.wh_a, product=world.product, threshold=4)

    alert = LowStockAlert.objects.get()
    assert (alert.status, alert.quantity_at_trigger, alert.threshold) == (OPEN, 3, 4)
    assert email_tasks().get().args_kwargs["kwargs"] == {"alert_id": alert.pk, "attempt": 1}


@pytest.mark.django_db
def test_updating_and_deleting_a_threshold_through_the_services_reopen_and_resolve(world):
    from inventory.services import delete_threshold, set_threshold, update_threshold

    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=6)
    row = set_threshold(actor=world.manager_a, warehouse=world.wh_a, product=world.product, threshold=5)
    assert not LowStockAlert.objects.exists()

    update_threshold(actor=world.manager_a, row=row, threshold=7)  # raised above 6: opens
    assert LowStockAlert.objects.get().status == OPEN
    update_threshold(actor=world.manager_a, row=row, threshold=6)  # lowered to 6: resolves
    assert LowStockAlert.objects.get().status == RESOLVED
    update_threshold(actor=world.manager_a, row=row, threshold=10)  # a new crossing
    assert LowStockAlert.objects.filter(status=OPEN).count() == 1
    delete_threshold(actor=world.manager_a, row=row)  # deleted: resolves

    assert list(LowStockAlert.objects.values_list("status", flat=True)) == [RESOLVED, RESOLVED]
    assert email_tasks().count() == 2
