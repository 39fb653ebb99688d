"""factory-boy factories for the workflow models (pending requests unless told otherwise)."""

import factory

from accounts.tests.factories import UserFactory
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory
from workflows.models import PurchaseRequest, TransferRequest


class PurchaseRequestFactory(factory.django.DjangoModelFactory):
    """A pending purchase request by a new viewer."""

    class Meta:
        model = PurchaseRequest

    warehouse = factory.SubFactory(WarehouseFactory)
    product = factory.SubFactory(ProductFactory)
    requested_by = factory.SubFactory(UserFactory, viewer=True)
    quantity = 1
    reason = "for the line"


class TransferRequestFactory(factory.django.DjangoModelFactory):
    """A pending transfer request between two new warehouses, by a new manager."""

    class Meta:
        model = TransferRequest

    source_warehouse = factory.SubFactory(WarehouseFactory)
    destination_warehouse = factory.SubFactory(WarehouseFactory)
    product = factory.SubFactory(ProductFactory)
    requested_by = factory.SubFactory(UserFactory, manager=True)
    quantity = 1
    reason = "rebalance"
