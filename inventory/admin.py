"""Django admin for the inventory. Quantities and the ledger are read-only here: stock changes only
through `inventory.services` (the API), so every change has its ledger row and audit event."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from core.http import client_ip

from . import policies, services
from .models import LowStockThreshold, Product, Reservation, Stock, StockMovement


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """The catalogue."""

    list_display = ["sku", "name", "unit", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["sku", "name"]
    readonly_fields = ["tracking"]  # switched through the API's rule (no units anywhere), not here
    actions = None

    def has_add_permission(self, request):
        return super().has_add_permission(request) and policies.can_edit_products(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and policies.can_edit_products(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # products are deactivated, never deleted: stock and history refer to them

    def save_model(self, request, obj, form, change):
        # Through the services, so admin edits are audited like API edits.
        fields = [f for f in services.PRODUCT_FIELDS if f in form.cleaned_data]
        if change:
            changes = {f: form.cleaned_data[f] for f in fields if f in form.changed_data}
            services.update_product(actor=request.user, product=obj, ip=client_ip(request), **changes)
        else:
            created = services.create_product(actor=request.user, ip=client_ip(request),
                                              **{f: form.cleaned_data[f] for f in fields})
            obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at


@admin.register(Stock)
class StockAdmin(ReadOnlyAdmin):
    """Balances and their buckets (read-only: use the API, which writes the ledger and the reservations)."""

    list_display = ["product", "warehouse", "quantity", "reserved", "available", "incoming", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku", "product__name"]
    list_select_related = ["product", "warehouse"]

    @admin.display(description="available")
    def available(self, obj) -> int:
        return obj.quantity - obj.reserved


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    """Reservations (read-only here: release and fulfil through the API, which keep `reserved` in step)."""

    list_display = ["id", "created_at", "warehouse", "product", "quantity", "fulfilled_quantity", "status",
                    "reference", "expires_at", "closed_at", "created_by"]
    list_filter = ["status", "warehouse"]
    search_fields = ["reference", "product__sku"]
    list_select_related = ["warehouse", "product", "created_by"]
    date_hierarchy = "created_at"


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    """The append-only ledger."""

    list_display = ["id", "created_at", "warehouse", "product", "kind", "quantity_change", "quantity_after",
                    "actor", "reference_type", "reference_id", "reason"]
    list_filter = ["warehouse", "product", "kind"]
    date_hierarchy = "created_at"
    list_select_related = ["warehouse", "product", "actor"]
    search_fields = ["product__sku", "note"]


@admin.register(LowStockThreshold)
class LowStockThresholdAdmin(ReadOnlyAdmin):
    """Thresholds (read-only here: the API re-evaluates alerts and records audit events when they change)."""

    list_display = ["product", "warehouse", "threshold", "updated_at"]
    list_filter = ["warehouse"]
    list_select_related = ["product", "warehouse"]
