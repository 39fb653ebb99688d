from django.contrib import admin

from .models import Warehouse
from .services import warehouse_in_use


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    """Warehouses; deletion of a used warehouse is refused by the protected foreign keys."""

    list_display = ["code", "name", "manager", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["manager"]
    actions = None

    def has_delete_permission(self, request, obj=None):
        # Thresholds cascade, so the admin must refuse what the API refuses: deleting a used warehouse.
        return super().has_delete_permission(request, obj) and (obj is None or not warehouse_in_use(obj))
