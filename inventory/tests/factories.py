import factory

from inventory.models import LowStockThreshold, Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    unit = "pcs"
    is_active = True


class ThresholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LowStockThreshold

    threshold = 5
