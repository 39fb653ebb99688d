"""The suite's own machinery (conftest.py): the shared world and the ledger proof after writes can fail."""

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from conftest import SharedWorld, WriteWatch, ledger_failure
from inventory.models import Stock
from inventory.services import assign_stock


def test_the_watch_counts_writes_to_ledger_tables_and_raw_sql_but_not_reads_or_ledger_free_tables(world):
    watch = WriteWatch()
    with connection.execute_wrapper(watch):
        list(Stock.objects.all())
        UserFactory()  # users (and their tokens, audit events) are never read by the proof
    assert not watch.wrote
    with connection.execute_wrapper(watch):
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    assert watch.wrote

    raw = WriteWatch()
    with connection.execute_wrapper(raw), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stock SET quantity = quantity WHERE 1 = 0")
    assert raw.wrote


def test_the_proof_finds_a_balance_that_differs_from_its_ledger(world):
    stock = assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=5)
    assert ledger_failure() is None
    Stock.objects.filter(pk=stock.pk).update(quantity=6)  # behind the stock door's back
    assert "balance mismatch" in ledger_failure()
    Stock.objects.filter(pk=stock.pk).update(quantity=5)  # whole again, or the after-test proof fails


def test_each_test_gets_its_own_copy_of_the_modules_world(world):
    shared = SharedWorld.current
    assert shared is not None and shared.is_open
    assert world.admin is not shared.world.admin and world.admin.pk == shared.world.admin.pk
    assert world.wh_a.manager is world.manager_a  # relations inside the copy stay one object


@pytest.mark.parametrize("step", ["change", "see it undone"])
def test_what_one_test_changes_in_the_shared_world_is_gone_for_the_next(world, step):
    world.viewer.refresh_from_db()
    assert world.viewer.first_name == "Test"
    world.viewer.first_name = "Changed"
    world.viewer.save(update_fields=["first_name"])


def test_a_database_test_without_the_world_does_not_see_it(db):
    from accounts.models import User

    assert not User.objects.filter(username="admin1").exists()


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_builds_and_commits_a_world_of_its_own(world):
    from accounts.models import User

    assert connection.get_autocommit()  # no outer transaction: threads and servers would see nothing
    assert User.objects.filter(username="admin1").count() == 1
