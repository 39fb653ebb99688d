from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/admin/", views.AdminDashboardView.as_view(), name="dashboard-admin"),
    path("dashboard/warehouse/", views.WarehouseDashboardView.as_view(), name="dashboard-warehouse"),
]
