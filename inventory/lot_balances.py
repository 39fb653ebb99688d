"""Lot balances as `/api/stock-lots/` reads them (SPEC §14), for the lot-balance export: the rows a user may
read and the list's filters, in one place (`warehouse`, `product`, `lot`, `expired`, `expires_before`).

One row per lot per warehouse holding units (`quantity > 0`), scoped like `/api/stocks/` (every active user
reads every warehouse), ordered first-expired-first-out, then warehouse code.
"""

import django_filters
from django.db.models import F, QuerySet

from core.filters import BaseFilterSet, BooleanFilter, IdFilter

from .lots import StockLot, expired_q, fefo_order
from .models import Stock

# FEFO over the lots, then the warehouse's code, then the balance's id (a stable order for a stream).
STOCK_LOT_ORDER = [*fefo_order("lot__"), F("stock__warehouse__code").asc(), F("id").asc()]


def stock_lots_for(user) -> QuerySet[StockLot]:
    """The lot balances above 0 of the stock rows the user may read (`Stock.objects.for_user`), in FEFO order."""
    return (StockLot.objects.filter(stock__in=Stock.objects.for_user(user), quantity__gt=0)
            .select_related("lot", "stock__warehouse", "stock__product").order_by(*STOCK_LOT_ORDER))


class StockLotFilter(BaseFilterSet):
    """`warehouse`, `product`, `lot` (ids), `expired` (`true`/`false`), `expires_before` (a date: lots whose
    `expires_on` is earlier; lots with no date are left out). Bad values are a 400."""

    warehouse = IdFilter(field_name="stock__warehouse_id")
    product = IdFilter(field_name="stock__product_id")
    lot = IdFilter(field_name="lot_id")
    expired = BooleanFilter(method="filter_expired")
    expires_before = django_filters.DateFilter(field_name="lot__expires_on", lookup_expr="lt")

    class Meta:
        model = StockLot
        fields = ["warehouse", "product", "lot", "expired", "expires_before"]

    def filter_expired(self, queryset, name, value):
        return queryset.filter(expired_q("lot__")) if value else queryset.exclude(expired_q("lot__"))
