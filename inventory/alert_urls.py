"""Routes of the low-stock alerts API (kept apart from the stock routes)."""

from django.urls import path

from .views_alerts import AlertListView

urlpatterns = [
    path("alerts/", AlertListView.as_view(), name="alert-list"),
]
