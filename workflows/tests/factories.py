"""factory-boy factories for the workflow models (pending requests unless told otherwise)."""

import factory

from accounts.tests.factories import UserFactory
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory
from workflows.models import PurchaseRequest, TransferLine, TransferRequest


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
    """A pending one-line transfer request between two new warehouses, by a new manager.

    `lines=[(product, quantity), ...]` makes a multi-line one instead (`product`/`quantity` null);
    `lines=[]` makes none.
    """

    class Meta:
        model = TransferRequest
        skip_postgeneration_save = True

    source_warehouse = factory.SubFactory(WarehouseFactory)
    destination_warehouse = factory.SubFactory(WarehouseFactory)
    product = factory.SubFactory(ProductFactory)
    requested_by = factory.SubFactory(UserFactory, manager=True)
    quantity = 1
    reason = "rebalance"

    @factory.post_generation
    def lines(self, create, extracted, **kwargs):
        if not create or extracted == []:  # `lines=[]`: no lines (a transfer from before lines existed)
            return
        if extracted:
            if len(extracted) > 1:
                TransferRequest.objects.filter(pk=self.pk).update(product=None, quantity=None)
                self.product = self.quantity = None
            for product, quantity in extracted:
                TransferLineFactory(transfer=self, product=product, quantity=quantity)
        elif self.product is not None:
            TransferLineFactory(transfer=self, product=self.product, quantity=self.quantity)


class TransferLineFactory(factory.django.DjangoModelFactory):
    """A line of a transfer (nothing shipped yet)."""

    class Meta:
        model = TransferLine

    transfer = factory.SubFactory(TransferRequestFactory, lines=[])
    product = factory.SubFactory(ProductFactory)
    quantity = 1
