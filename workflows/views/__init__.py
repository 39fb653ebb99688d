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
from .rules import ReorderRuleViewSet

__all__ = [
    "ReorderRuleViewSet",
    "LotConsumersView", "LotTraceView",
    "PurchaseRequestCancelView", "PurchaseRequestDecisionView", "PurchaseRequestDetailView",
    "PurchaseRequestListCreateView", "StockCountCancelView", "StockCountDecisionView", "StockCountDetailView",
    "StockCountLinesView", "StockCountListCreateView", "StockCountSubmitView", "TransferCancelView",
    "TransferCloseView", "TransferReceiveView", "TransferRequestDecisionView", "TransferRequestDetailView",
    "TransferRequestListCreateView", "TransferShipView",
]
