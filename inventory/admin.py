"""Django admin for the inventory. Quantities and the ledger are read-only here: stock changes only
through `inventory.services` (the API), so every change has its ledger row and audit event."""

from django import forms
from django.contrib import admin

from core.admin import ReadOnlyAdmin
from core.http import client_ip
from core.identity import identity_key

from . import policies, services
from .lots import Lot, StockLot, is_expired
from .models import LowStockThreshold, Product, Reservation, Stock, StockMovement
from .selectors import available_units, with_expired
from .services import lot_catalogue


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

    list_display = ["product", "warehouse", "quantity", "reserved", "expired", "available", "incoming", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku", "product__name"]
    list_select_related = ["product", "warehouse"]

    def get_queryset(self, request):
        return with_expired(super().get_queryset(request))

    @admin.display(description="expired")
    def expired(self, obj) -> int:
        return obj.expired

    @admin.display(description="available")
    def available(self, obj) -> int:
        return available_units(obj.quantity, obj.reserved, obj.expired)


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


class LotForm(forms.ModelForm):
    """A new lot names its product and code; a lot already saved changes only `expires_on` (a correction)."""

    class Meta:
        model = Lot
        fields = ["product", "code", "expires_on"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("product") and data.get("code"):
            product = data["product"]
            if product.tracking != Product.Tracking.LOT:
                raise forms.ValidationError(f"Product {product.sku} is not lot-tracked: it has no lots.")
            if Lot.objects.filter(product=product, code_key=identity_key(data["code"])).exists():
                raise forms.ValidationError(f"Product {product.sku} already has a lot {data['code']}.")
        return data


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    """Lots: added (admins, managers) and their `expires_on` corrected (admins) through the same services as the
    API (`inventory.services.lot_catalogue`: audited, expiry alerts and row versions kept in step)."""

    form = LotForm
    list_display = ["code", "product", "expires_on", "is_expired", "created_at"]
    list_filter = ["expires_on"]
    search_fields = ["code", "product__sku"]
    list_select_related = ["product"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return ["product", "code", "created_at"] if obj is not None else ["created_at"]

    @admin.display(boolean=True, description="expired")
    def is_expired(self, obj) -> bool:
        return is_expired(obj.expires_on)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and policies.can_create_lots(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and policies.can_correct_lot_expiry(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # lots stay for history (movements and balances refer to them)

    def save_model(self, request, obj, form, change):
        # The form checked what the services would refuse (LotForm.clean; the permissions above).
        if change:
            if "expires_on" in form.changed_data:
                lot_catalogue.correct_expiry(actor=request.user, lot=obj, ip=client_ip(request),
                                             expires_on=form.cleaned_data["expires_on"])
            return
        created = lot_catalogue.create_lot(actor=request.user, ip=client_ip(request),
                                           product=form.cleaned_data["product"], code=form.cleaned_data["code"],
                                           expires_on=form.cleaned_data["expires_on"])
        obj.pk, obj.code_key, obj.created_at = created.pk, created.code_key, created.created_at


@admin.register(StockLot)
class StockLotAdmin(ReadOnlyAdmin):
    """Lot balances (read-only: only the stock door writes them)."""

    list_display = ["lot", "product", "warehouse", "quantity", "updated_at"]
    list_filter = ["stock__warehouse"]
    search_fields = ["lot__code", "stock__product__sku"]
    list_select_related = ["lot", "stock__product", "stock__warehouse"]

    @admin.display(description="product")
    def product(self, obj):
        return obj.stock.product

    @admin.display(description="warehouse")
    def warehouse(self, obj):
        return obj.stock.warehouse
