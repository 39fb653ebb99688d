"""Workflow API views, one module per document family; `workflows.urls` routes to the names below."""

from .counts import (
    StockCountCancelView,
    StockCountDecisionView,
    StockCountDetailView,
    StockCountLinesView,
    StockCountListCreateView,
    StockCountSubmitView,
)
from .recall import LotConsumersView, LotTraceView
from .requests import (
    PurchaseRequestCancelView,
    PurchaseRequestDecisionView,
    PurchaseRequestDetailView,
    PurchaseRequestListCreateView,
    TransferCancelView,
    TransferCloseView,
    TransferReceiveView,
    TransferRequestDecisionView,
    TransferRequestDetailView,
    TransferRequestListCreateView,
    TransferShipView,
)

__all__ = [
    "LotConsumersView", "LotTraceView",
    "PurchaseRequestCancelView", "PurchaseRequestDecisionView", "PurchaseRequestDetailView",
    "PurchaseRequestListCreateView", "StockCountCancelView", "StockCountDecisionView", "StockCountDetailView",
    "StockCountLinesView", "StockCountListCreateView", "StockCountSubmitView", "TransferCancelView",
    "TransferCloseView", "TransferReceiveView", "TransferRequestDecisionView", "TransferRequestDetailView",
    "TransferRequestListCreateView", "TransferShipView",
]
