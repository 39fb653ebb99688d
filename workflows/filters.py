"""Query-string filters for request lists."""

import django_filters
from django.db.models import Q

from core.decisions import RequestStatus
from core.filters import BaseFilterSet, BooleanFilter, IdFilter

from .models import PurchaseRequest, ReorderRule, StockCount, TransferMode, TransferRequest, TransferStatus


class RequestFilter(BaseFilterSet):
    """`?status=` and `?warehouse=`; subclasses say which warehouse fields `warehouse` matches."""

    warehouse_fields: tuple[str, ...] = ()

    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    warehouse = IdFilter(method="filter_warehouse")

    def filter_warehouse(self, queryset, name, value):
        scope = Q()
        for field in self.warehouse_fields:
            scope |= Q(**{f"{field}_id": value})
        return queryset.filter(scope)


class PurchaseRequestFilter(RequestFilter):
    """`?status=` and `?warehouse=`."""

    warehouse_fields = ("warehouse",)

    class Meta:
        model = PurchaseRequest
        fields = ["status", "warehouse"]


class TransferRequestFilter(RequestFilter):
    """`?status=`, `?mode=` and `?warehouse=` (either side of the transfer)."""

    warehouse_fields = ("source_warehouse", "destination_warehouse")

    status = django_filters.ChoiceFilter(choices=TransferStatus.choices)
    mode = django_filters.ChoiceFilter(choices=TransferMode.choices)

    class Meta:
        model = TransferRequest
        fields = ["status", "warehouse", "mode"]


class StockCountFilter(BaseFilterSet):
    """`status` (open/submitted/applied/rejected/cancelled) and `warehouse` (an id)."""

    status = django_filters.ChoiceFilter(choices=StockCount.Status.choices)
    warehouse = IdFilter(field_name="warehouse_id")

    class Meta:
        model = StockCount
        fields = ["status", "warehouse"]


class ReorderRuleFilter(BaseFilterSet):
    """`warehouse`, `product` (ids) and `is_active` (true/false)."""

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    is_active = BooleanFilter()

    class Meta:
        model = ReorderRule
        fields = ["warehouse", "product", "is_active"]
