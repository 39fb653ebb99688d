from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import DemoteManagerView, DismissView, RegisterView, WarehouseViewSet

router = SimpleRouter()
router.register("warehouses", WarehouseViewSet, basename="warehouse")

# Staffing writes warehouse rows, so its views live here; the paths are the accounts API's (SPEC §2, §3).
urlpatterns = [
    path("auth/register/", RegisterView.as_view(), name="auth-register"),
    path("staffs/dismiss/", DismissView.as_view(), name="staff-dismiss"),
    path("admin/demote-manager/", DemoteManagerView.as_view(), name="demote-manager"),
    *router.urls,
]
