from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("reorder-rules", views.ReorderRuleViewSet, basename="reorder-rule")

urlpatterns = [
    path("purchase-requests/", views.PurchaseRequestListCreateView.as_view(), name="purchase-request-list"),
    path("purchase-requests/approve/", views.PurchaseRequestDecisionView.as_view(), name="purchase-request-approve"),
    path("purchase-requests/cancel/", views.PurchaseRequestCancelView.as_view(), name="purchase-request-cancel"),
    path("purchase-requests/<int:pk>/", views.PurchaseRequestDetailView.as_view(), name="purchase-request-detail"),
    path("transfer-requests/", views.TransferRequestListCreateView.as_view(), name="transfer-request-list"),
    path("transfer-requests/approve/", views.TransferRequestDecisionView.as_view(), name="transfer-request-approve"),
    path("transfer-requests/<int:pk>/", views.TransferRequestDetailView.as_view(), name="transfer-request-detail"),
    path("transfer-requests/<int:pk>/ship/", views.TransferShipView.as_view(), name="transfer-request-ship"),
    path("transfer-requests/<int:pk>/receive/", views.TransferReceiveView.as_view(), name="transfer-request-receive"),
    path("transfer-requests/<int:pk>/close/", views.TransferCloseView.as_view(), name="transfer-request-close"),
    path("transfer-requests/<int:pk>/cancel/", views.TransferCancelView.as_view(), name="transfer-request-cancel"),
    path("lots/<int:pk>/trace/", views.LotTraceView.as_view(), name="lot-trace"),
    path("lots/<int:pk>/consumers/", views.LotConsumersView.as_view(), name="lot-consumers"),
    path("stock-counts/", views.StockCountListCreateView.as_view(), name="stock-count-list"),
    path("stock-counts/<int:pk>/", views.StockCountDetailView.as_view(), name="stock-count-detail"),
    path("stock-counts/<int:pk>/lines/", views.StockCountLinesView.as_view(), name="stock-count-lines"),
    path("stock-counts/<int:pk>/submit/", views.StockCountSubmitView.as_view(), name="stock-count-submit"),
    path("stock-counts/<int:pk>/approve/", views.StockCountDecisionView.as_view(), name="stock-count-approve"),
    path("stock-counts/<int:pk>/cancel/", views.StockCountCancelView.as_view(), name="stock-count-cancel"),
    *router.urls,
]
