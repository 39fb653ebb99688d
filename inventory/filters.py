"""Query filters of the catalogue, stock and ledger lists. Bad values are a 400 (django-filter)."""

import datetime

import django_filters
from django.utils import timezone
from rest_framework.filters import OrderingFilter

from warehouses.filters import BooleanFilter, IdFilter

from .models import LowStockAlert, LowStockThreshold, Product, Stock, StockMovement


class ProductFilter(django_filters.FilterSet):
    """`is_active=true|false`."""

    is_active = BooleanFilter()

    class Meta:
        model = Product
        fields = ["is_active"]


class StockFilter(django_filters.FilterSet):
    """`warehouse`, `product`, `low=true` (below its threshold)."""

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    low = BooleanFilter(field_name="is_low")

    class Meta:
        model = Stock
        fields = ["warehouse", "product", "low"]


class ThresholdFilter(django_filters.FilterSet):
    """`warehouse`, `product`."""

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")

    class Meta:
        model = LowStockThreshold
        fields = ["warehouse", "product"]


def _start_of_day(day: datetime.date) -> datetime.datetime:
    """Midnight of `day` in the project's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class MovementFilter(django_filters.FilterSet):
    """`warehouse`, `product`, `kind`, `date_from`/`date_to` (inclusive days, project time zone), `after`."""

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    kind = django_filters.ChoiceFilter(choices=StockMovement.Kind.choices)
    date_from = django_filters.DateFilter(method="filter_date_from")
    date_to = django_filters.DateFilter(method="filter_date_to")
    after = IdFilter(field_name="id", lookup_expr="gt", min_value=0)

    class Meta:
        model = StockMovement
        fields = ["warehouse", "product", "kind", "date_from", "date_to", "after"]

    # Days at the ends of the calendar would overflow once shifted to UTC: they mean "no bound".
    def filter_date_from(self, queryset, name, value):
        if value <= datetime.date.min + datetime.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__gte=_start_of_day(value))

    def filter_date_to(self, queryset, name, value):
        if value >= datetime.date.max - datetime.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__lt=_start_of_day(value + datetime.timedelta(days=1)))



class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with the primary key as the last tie-breaker, so pages never repeat or skip rows."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("id")
        return ordering


class AlertFilter(django_filters.FilterSet):
    """`status` (open/resolved; anything else is a 400) and `warehouse` (an id)."""

    status = django_filters.ChoiceFilter(choices=LowStockAlert.Status.choices)
    warehouse = IdFilter(field_name="warehouse_id")

    class Meta:
        model = LowStockAlert
        fields = ["status", "warehouse"]
