"""Factories for every inventory model.

Stock quantities, reservations and ledger rows are never written directly: `StockFactory` goes
through `assign_stock` and `ReservationFactory` through `reserve_stock` (the one door), so every
balance has its movement and every `reserved` its reservations. There is deliberately no
StockMovement factory; use the services (and `time_machine` to choose when a movement happens).
"""

import factory

from accounts.tests.factories import UserFactory
from inventory.models import Lot, LowStockAlert, LowStockThreshold, Product, Reservation, Stock
from inventory.services import assign_stock, reserve_stock
from warehouses.tests.factories import WarehouseFactory


class ProductFactory(factory.django.DjangoModelFactory):
    """An active product with a unique SKU."""

    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    unit = "pcs"
    is_active = True


class LotFactory(factory.django.DjangoModelFactory):
    """A lot of a lot-tracked product (`expires_on` None: never expires)."""

    class Meta:
        model = Lot

    product = factory.SubFactory(ProductFactory, tracking=Product.Tracking.LOT)
    code = factory.Sequence(lambda n: f"L{n:04d}")
    expires_on = None


class StockFactory(factory.Factory):
    """A stock row holding `quantity` units, assigned through `assign_stock` (with its `assign` movement)."""

    class Meta:
        model = Stock

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    quantity = 10
    actor = factory.SubFactory(UserFactory, admin=True)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("StockFactory only creates rows through assign_stock; use StockFactory() / .create().")

    @classmethod
    def _create(cls, model_class, *, product, warehouse, quantity, actor):
        return assign_stock(actor=actor, warehouse=warehouse, product=product, quantity=quantity)


class ThresholdFactory(factory.django.DjangoModelFactory):
    """A low-stock threshold row (no alert evaluation: use `set_threshold` when the alert matters)."""

    class Meta:
        model = LowStockThreshold

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    threshold = 5


class LowStockAlertFactory(factory.django.DjangoModelFactory):
    """An open alert (pass `status=LowStockAlert.Status.RESOLVED` and `resolved_at=` for a resolved one)."""

    class Meta:
        model = LowStockAlert

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    quantity_at_trigger = 2
    threshold = 5
    status = LowStockAlert.Status.OPEN
    resolved_at = None


class ReservationFactory(factory.Factory):
    """An active reservation made through `reserve_stock` (stock is assigned first unless `assign=0`).

    `ReservationFactory(warehouse=..., product=..., quantity=2, expires_at=...)`; `assign` is how many
    units to put on the row first (default: exactly `quantity`).
    """

    class Meta:
        model = Reservation

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    quantity = 2
    actor = factory.SubFactory(UserFactory, admin=True)
    expires_at = None
    reference = ""
    note = ""
    assign = factory.LazyAttribute(lambda o: o.quantity)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("ReservationFactory only creates through reserve_stock; use ReservationFactory().")

    @classmethod
    def _create(cls, model_class, *, product, warehouse, quantity, actor, expires_at, reference, note, assign):
        if assign:
            assign_stock(actor=actor, warehouse=warehouse, product=product, quantity=assign)
        return reserve_stock(actor=actor, warehouse=warehouse, product=product, quantity=quantity,
                             expires_at=expires_at, reference=reference, note=note)
