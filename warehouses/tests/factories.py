import factory

from warehouses.models import Warehouse


class WarehouseFactory(factory.django.DjangoModelFactory):
    """An active warehouse without a manager (pass `manager=` to put one in charge)."""

    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    address = "1 Dock Road"
    is_active = True
