"""The product's URLs plus `/bench/stocks-values/`: the list benchmark's baseline (never in the product)."""

from django.http import JsonResponse
from django.urls import path
from rest_framework.request import Request

from accounts.authentication import ActiveUserJWTAuthentication
from inventory.selectors import stock_levels_for
from inventory_project.urls import urlpatterns as product_urlpatterns

FIELDS = ["id", "product_id", "product__sku", "product__name", "warehouse_id", "warehouse__code", "warehouse__name",
          "quantity", "reserved", "available", "incoming", "threshold", "is_low", "updated_at"]


def stocks_values(request):
    """The same page of rows as `GET /api/stocks/?page_size=N` (same authentication, same query and count),
    as a plain `JsonResponse` of `.values()`: no DRF view, serializer or paginator."""
    found = ActiveUserJWTAuthentication().authenticate(Request(request))
    if found is None:
        return JsonResponse({"detail": "not authenticated"}, status=401)
    size = int(request.GET.get("page_size", 50))
    rows = stock_levels_for(found[0]).order_by("warehouse_id", "product_id")
    return JsonResponse({"count": rows.count(), "results": list(rows.values(*FIELDS)[:size])})


urlpatterns = [path("bench/stocks-values/", stocks_values), *product_urlpatterns]
