"""`core.compiled.CompiledRead`: the rows a read compiled once returns are the ORM's own, on either database."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from core.compiled import CompiledRead
from inventory.lots import Lot, StockLot, fefo_order, today
from inventory.models import Product
from inventory.services import assign_stock
from inventory.services.lots import LotBook
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db


def _lots_query(product_id):
    return Lot.objects.filter(product_id=product_id).order_by(*fefo_order()).values_list(
        "id", "code", "expires_on", "created_at")


def test_the_rows_are_the_orms_converted_values_for_each_value_asked():
    first, second = ProductFactory(tracking=Product.Tracking.LOT), ProductFactory(tracking=Product.Tracking.LOT)
    for product, days in ((first, (3, None, 1)), (second, (2,))):
        for index, day in enumerate(days):
            Lot.objects.create(product=product, code=f"L{index}",
                               expires_on=None if day is None else today() + datetime.timedelta(days=day))
    read = CompiledRead(_lots_query)
    for product in (first, second, first):
        rows = read.rows(product.pk, using="default")
        assert rows == list(_lots_query(product.pk))
        assert all(isinstance(row[2], datetime.date) or row[2] is None for row in rows)
        assert all(row[3].tzinfo is not None for row in rows)  # aware, as the ORM gives them (SQLite too)
    assert read.rows(-1, using="default") == []


def test_it_is_one_statement_per_call():
    product = ProductFactory(tracking=Product.Tracking.LOT)
    read = CompiledRead(_lots_query)
    read.rows(product.pk, using="default")
    with CaptureQueriesContext(connection) as captured:
        read.rows(product.pk, using="default")
    assert len(captured.captured_queries) == 1


def test_a_read_with_more_than_the_one_parameter_is_refused():
    read = CompiledRead(lambda value: Lot.objects.filter(pk=value, code="x").values_list("id"))
    with pytest.raises(ValueError, match="exactly one parameter"):
        read.rows(1, using="default")


def test_a_lot_book_holds_what_the_orm_reads():
    admin, warehouse = UserFactory(admin=True), WarehouseFactory()
    product = ProductFactory(tracking=Product.Tracking.LOT)
    for code, days, units in (("C", 5, 2), ("A", None, 4), ("B", 1, 3)):
        stock = assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=units, lot=code,
                             expires_on=None if days is None else today() + datetime.timedelta(days=days))
    book = LotBook(stock)
    expected = list(StockLot.objects.filter(stock=stock).select_related("lot").order_by(*fefo_order("lot__")))
    assert [balance.lot.code for balance in book.fefo()] == ["B", "C", "A"]
    for mine, theirs in zip(book.balances.values(), expected, strict=True):
        assert (mine.pk, mine.stock_id, mine.lot_id, mine.quantity, mine.updated_at) == (
            theirs.pk, theirs.stock_id, theirs.lot_id, theirs.quantity, theirs.updated_at)
        assert (mine.lot.code, mine.lot.code_key, mine.lot.expires_on, mine.lot.created_at, mine.lot.product_id) == (
            theirs.lot.code, theirs.lot.code_key, theirs.lot.expires_on, theirs.lot.created_at, theirs.lot.product_id)


def test_the_request_users_read_is_the_orms_user_and_role_read_fresh_each_time():
    from accounts.authentication import read_user
    from accounts.models import User

    manager = UserFactory(manager=True)
    mine = read_user(manager.pk)
    theirs = User.objects.select_related("role").get(pk=manager.pk)
    for field in User._meta.concrete_fields:
        assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.attname
    assert (mine.role.pk, mine.role.name) == (theirs.role.pk, theirs.role.name)
    assert mine.date_joined.tzinfo is not None and mine.is_active is True
    assert mine._state.adding is False and mine._state.db == "default"
    User.objects.filter(pk=manager.pk).update(status=User.Status.DISMISSED)
    assert read_user(manager.pk).status == User.Status.DISMISSED  # read again, never cached
    assert read_user(10**12) is None
