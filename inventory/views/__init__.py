"""Inventory API views, one module per resource group; `inventory.urls` routes to the names below."""

from .catalogue import ProductViewSet, ThresholdViewSet
from .files import ProductExportView, ProductImportView, StockExportView, StockImportView
from .lots import LotViewSet, StockLotListView
from .reservations import ReservationViewSet
from .stock import AdjustStockView, AlertListView, AssignStockView, StockListView, StockMovementListView
from .stock_lots_export import StockLotExportView

__all__ = [
    "AdjustStockView", "AlertListView", "AssignStockView", "LotViewSet", "StockLotListView",
    "ProductExportView", "ProductImportView",
    "ProductViewSet", "ReservationViewSet", "StockCountDecisionView",
    "StockCountSubmitView",
    "StockExportView", "StockImportView", "StockLotExportView", "StockListView", "StockMovementListView",
    "ThresholdViewSet",
]
