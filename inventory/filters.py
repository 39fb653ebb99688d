"""Query filters of the catalogue, stock and ledger lists. Bad values are a 400 (django-filter)."""

import django_filters

from core.filters import BaseFilterSet, BooleanFilter, IdFilter, date_from_filter, date_to_filter

from . import feed
from .models import LowStockAlert, LowStockThreshold, Product, Reservation, Stock, StockMovement


class ProductFilter(BaseFilterSet):
    """`is_active=true|false`."""

    is_active = BooleanFilter()

    class Meta:
        model = Product
        fields = ["is_active"]


class StockFilter(BaseFilterSet):
    """`warehouse`, `product`, `low=true` (below its threshold)."""

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    low = BooleanFilter(field_name="is_low")

    class Meta:
        model = Stock
        fields = ["warehouse", "product", "low"]


class ThresholdFilter(BaseFilterSet):
    """`warehouse`, `product`."""

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")

    class Meta:
        model = LowStockThreshold
        fields = ["warehouse", "product"]


class MovementFilter(BaseFilterSet):
    """`warehouse`, `product`, `kind`, `date_from`/`date_to` (inclusive days, project time zone), `after`.

    `after=<id>` is the change feed: the rows that follow movement `id` in commit order, only once
    no smaller position can still commit (`inventory.feed`).
    """

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    kind = django_filters.ChoiceFilter(choices=StockMovement.Kind.choices)
    date_from = date_from_filter()
    date_to = date_to_filter()
    after = IdFilter(method="filter_after", min_value=0)

    class Meta:
        model = StockMovement
        fields = ["warehouse", "product", "kind", "date_from", "date_to", "after"]

    def filter_after(self, queryset, name, value):
        return feed.rows_after(queryset, value)


class AlertFilter(BaseFilterSet):
    """`status` (open/resolved; anything else is a 400), `kind` (low_stock/expiry) and `warehouse` (an id)."""

    status = django_filters.ChoiceFilter(choices=LowStockAlert.Status.choices)
    kind = django_filters.ChoiceFilter(choices=LowStockAlert.Kind.choices)
    warehouse = IdFilter(field_name="warehouse_id")

    class Meta:
        model = LowStockAlert
        fields = ["status", "kind", "warehouse"]


class ReservationFilter(BaseFilterSet):
    """`status` (active/released/fulfilled/expired), `warehouse`, `product` (ids), `reference` (exact)."""

    status = django_filters.ChoiceFilter(choices=Reservation.Status.choices)
    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    reference = django_filters.CharFilter(max_length=100)

    class Meta:
        model = Reservation
        fields = ["status", "warehouse", "product", "reference"]
