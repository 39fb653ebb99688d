from django.urls import path

from . import views

urlpatterns = [
    path("reports/stock-movements/", views.StockMovementReportView.as_view(), name="report-stock-movements"),
]
