"""Query filters of the catalogue, stock and ledger lists. Bad values are a 400 (django-filter)."""

import django_filters

from core.filters import BaseFilterSet, BooleanFilter, IdFilter, date_from_filter, date_to_filter
from core.identity import identity_key

from . import feed
from .lots import Lot, StockLot, expired_q
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
    """`warehouse`, `product`, `lot` (a lot's ledger), `kind`, `date_from`/`date_to` (inclusive days, project time
    zone), `after`.

    `after=<id>` is the change feed: the rows that follow movement `id` in commit order, only once
    no smaller position can still commit (`inventory.feed`).
    """

    warehouse = IdFilter(field_name="warehouse_id")
    product = IdFilter(field_name="product_id")
    lot = IdFilter(field_name="lot_id")
    kind = django_filters.ChoiceFilter(choices=StockMovement.Kind.choices)
    date_from = date_from_filter()
    date_to = date_to_filter()
    after = IdFilter(method="filter_after", min_value=0)

    class Meta:
        model = StockMovement
        fields = ["warehouse", "product", "lot", "kind", "date_from", "date_to", "after"]

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


# --- lots (SPEC §14) ------------------------------------------------------------------------------


def _filter_expired(prefix: str):
    def method(self, queryset, name, value):
        # `~expired_q` keeps the lots with no date (they never expire): Django's negation includes NULL.
        return queryset.filter(expired_q(prefix)) if value else queryset.exclude(expired_q(prefix))
    return method


class LotFilter(BaseFilterSet):
    """`product`, `code` (compared like SKUs), `expires_before` (a date: `expires_on` earlier; lots with no date
    left out), `expired` (`true`/`false`, today in the project's time zone)."""

    product = IdFilter(field_name="product_id")
    code = django_filters.CharFilter(method="filter_code", max_length=50)
    expires_before = django_filters.DateFilter(field_name="expires_on", lookup_expr="lt")
    expired = BooleanFilter(method="filter_expired")

    class Meta:
        model = Lot
        fields = ["product", "code", "expires_before", "expired"]

    def filter_code(self, queryset, name, value):
        return queryset.filter(code_key=identity_key(value))

    filter_expired = _filter_expired("")


class StockLotFilter(BaseFilterSet):
    """`warehouse`, `product`, `lot` (ids), `expired` (`true`/`false`), `expires_before` (a date; lots with no
    date left out)."""

    warehouse = IdFilter(field_name="stock__warehouse_id")
    product = IdFilter(field_name="lot__product_id")
    lot = IdFilter(field_name="lot_id")
    expired = BooleanFilter(method="filter_expired")
    expires_before = django_filters.DateFilter(field_name="lot__expires_on", lookup_expr="lt")

    class Meta:
        model = StockLot
        fields = ["warehouse", "product", "lot", "expired", "expires_before"]

    filter_expired = _filter_expired("lot__")
