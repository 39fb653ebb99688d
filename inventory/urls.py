from django.urls import include, path

urlpatterns = [
    path("", include("inventory.alert_urls")),
]
