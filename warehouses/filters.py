"""Query filters of the warehouse list."""

from core.filters import BaseFilterSet, BooleanFilter, IdFilter

from .models import Warehouse


class WarehouseFilter(BaseFilterSet):
    """`is_active=true|false`, `manager=<user id>`."""

    manager = IdFilter(field_name="manager_id")
    is_active = BooleanFilter()

    class Meta:
        model = Warehouse
        fields = ["is_active", "manager"]
