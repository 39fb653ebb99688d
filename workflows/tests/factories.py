"""factory-boy factories for the workflow models (pending requests unless told otherwise)."""

import factory

from accounts.tests.factories import UserFactory
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory
from workflows.models import PurchaseRequest, StockCount, StockCountLine, TransferLine, TransferRequest
from workflows.services import open_count


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


class StockCountFactory(factory.Factory):
    """An open count of `warehouse` opened through `open_count` (one line per product with a stock row)."""

    class Meta:
        model = StockCount

    warehouse = factory.SubFactory(WarehouseFactory)
    actor = factory.SubFactory(UserFactory, admin=True)
    products = None
    note = ""

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("StockCountFactory only creates counts through open_count; use StockCountFactory().")

    @classmethod
    def _create(cls, model_class, *, warehouse, actor, products, note):
        return open_count(actor=actor, warehouse=warehouse, products=products, note=note)


class StockCountLineFactory(factory.django.DjangoModelFactory):
    """A line added to an existing count (`count=` and `stock=` required; expected defaults to the stock's quantity)."""

    class Meta:
        model = StockCountLine

    product = factory.SelfAttribute("stock.product")
    expected = factory.SelfAttribute("stock.quantity")
    counted = None
