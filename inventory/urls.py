from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("low-stock-thresholds", views.ThresholdViewSet, basename="low-stock-threshold")
router.register("reservations", views.ReservationViewSet, basename="reservation")
router.register("lots", views.LotViewSet, basename="lot")

urlpatterns = [
    path("stocks/", views.StockListView.as_view(), name="stock-list"),
    path("stocks/assign/", views.AssignStockView.as_view(), name="stock-assign"),
    path("stocks/adjust/", views.AdjustStockView.as_view(), name="stock-adjust"),
    path("stocks/import/", views.StockImportView.as_view(), name="stock-import"),
    path("stocks/export/", views.StockExportView.as_view(), name="stock-export"),
    # Before any `stock-lots/<pk>/` route, which would take "export" for an id.
    path("stock-lots/export/", views.StockLotExportView.as_view(), name="stock-lot-export"),
    path("stock-lots/", views.StockLotListView.as_view(), name="stock-lot-list"),
    path("stock-movements/", views.StockMovementListView.as_view(), name="stock-movement-list"),
    # Before the router's `products/<pk>/`, which would take "import" and "export" for ids.
    path("products/import/", views.ProductImportView.as_view(), name="product-import"),
    path("products/export/", views.ProductExportView.as_view(), name="product-export"),
    *router.urls,
    path("alerts/", views.AlertListView.as_view(), name="alert-list"),
]
